"""The ``grove`` command (pip installs it): the same program as the native CLI, compiled into
the extension, with the same options, progress and errors (``grove --help``)."""
import sys

from ._grove import _cli


def main():
    sys.exit(_cli(["grove", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
