from app.domain.definitions import DefinitionError, parse_instrument


def test_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    try:
        parse_instrument("\n".join(lines), "bomb.yaml", set())
    except DefinitionError as error:
        assert "too large" in str(error)
    else:
        raise AssertionError("the bomb loaded")
