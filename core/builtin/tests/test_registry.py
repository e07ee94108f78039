import pytest

from bots.sdk import VectorBot, validate_config, validate_schema
from core.builtin import BUILTIN_BOTS, UnknownBuiltinBot, get_builtin


def test_it_registers_the_four_built_in_bots():
    assert sorted(BUILTIN_BOTS) == ["bollinger-breakout", "macd-trend", "rsi-reversion", "sma-crossover"]
    assert get_builtin("sma-crossover").slug == "sma-crossover"


def test_an_unknown_slug_is_a_domain_error():
    with pytest.raises(UnknownBuiltinBot, match="no built-in bot 'nope'"):
        get_builtin("nope")


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_each_schema_is_valid_and_its_defaults_build_the_bot(slug):
    bot_cls = BUILTIN_BOTS[slug]

    validate_schema(bot_cls.config_schema)
    defaults = validate_config(bot_cls.config_schema, {})
    bot = bot_cls.from_config({})

    assert issubclass(bot_cls, VectorBot)
    assert bot.config == defaults
    # The class attribute is the warm-up of the default config, so the catalog can show it.
    assert bot.startup_candles == bot_cls.startup_candles
    assert bot_cls.name and bot_cls.description


@pytest.mark.parametrize(
    ("slug", "config", "expected"),
    [
        ("sma-crossover", {"fast": 10, "slow": 50}, 50),
        ("rsi-reversion", {"period": 7}, 70),
        ("macd-trend", {"fast": 5, "slow": 35, "signal": 5}, 110),
        ("bollinger-breakout", {"period": 40}, 40),
    ],
)
def test_startup_candles_follow_the_config(slug, config, expected):
    assert get_builtin(slug).from_config(config).startup_candles == expected
