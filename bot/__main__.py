import sys

from .cli import main

if __name__ == "__main__":   # (worker processes started fresh import this module without running it)
    sys.exit(main())
