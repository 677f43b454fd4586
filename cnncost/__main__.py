"""``python -m cnncost``: the same command line as the ``cnncost`` script."""

from cnncost.entry import main

if __name__ == "__main__":
    raise SystemExit(main())
