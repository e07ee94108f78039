"""The attack suite of issue 10: hostile bots uploaded, validated, approved and run by the engine beside an honest
bot (see arena.py for the path each one takes, hostile.py for the bots, test_attacks.py for what is asserted)."""
