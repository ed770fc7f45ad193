"""``python -m forecast``: the same command line as the ``forecast`` script."""

from forecast.cli import main

main()
