"""The login page and the role homes on a phone."""

from tests.browser.conftest import Shots, login


def test_login_on_a_phone(phone, live_server):
    shots = Shots(phone, "login")
    phone.goto(f"{live_server}/login")
    assert phone.locator("h1").inner_text() == "登录"
    # tap targets: inputs and the button are at least 44px high
    for selector in ("input[name=username]", "input[name=password]", "button[type=submit]"):
        assert phone.locator(selector).bounding_box()["height"] >= 44
    # nothing wider than the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots("login")

    login(phone, live_server, "shopper", "wrong")
    assert "用户名或密码错误" in phone.content()
    shots("wrong-password")

    login(phone, live_server, "shopper")
    phone.wait_for_url(f"{live_server}/shopper/")
    assert phone.locator("h1").inner_text() == "我的暗访任务"
    shots("shopper-home")

    phone.click("text=English")
    assert phone.locator("h1").inner_text() == "My assignments"
    shots("shopper-home-en")
