from pathlib import Path

import pytest

from bots.sdk import Candles, check_lookahead
from core.builtin import BUILTIN_BOTS

DATA = Path(__file__).resolve().parents[3] / "data" / "candles"


@pytest.fixture(scope="module")
def btc_1h():
    return Candles.from_csv(DATA / "binance" / "BTC_USDT-1h.csv")


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_the_built_ins_do_not_look_ahead(slug, btc_1h):
    result = check_lookahead(BUILTIN_BOTS[slug], None, btc_1h)

    assert result.clean, result.message
    assert len(result.checked_indices) >= 50  # the evenly spaced points plus every signal


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_the_built_ins_do_not_look_ahead_at_any_candle_of_a_short_history(slug, btc_1h):
    result = check_lookahead(BUILTIN_BOTS[slug], None, btc_1h[:400], sample_points=None)

    assert result.clean, result.message
