"""``python -m cnncost``: the same command line as the ``cnncost`` script."""

from cnncost.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
