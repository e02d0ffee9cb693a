"""Extensions created here and bound to an app in `create_app`."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says why on its own
