"""``python -m offline_iq.cli``."""

from offline_iq.cli import main

main()
