"""The `jixiao` command's entry point (the console script, `python -m jixiao`).

`jixiao check FILE… [--json] [-v]`, the command a person or a script runs most, is run here
without importing click (~15 ms of a ~150 ms process): the arguments are parsed only when
their meaning is beyond doubt -- each one a file name or one of those flags -- and everything
else (other commands, --help, --annotate, --framework, a typo, "-" or "--", a wildcard a
Windows shell leaves to the program) goes to the click command `jixiao.cli.main`, which then
parses, reports and exits as always.  Both run `cli_check.run_check`, so output and exit
codes are the same whichever parsed the arguments."""

from __future__ import annotations

import os
import sys

_FLAGS = {"--json": "as_json", "-v": "verbose", "--verbose": "verbose"}


def quick_check_args(args: list[str]) -> dict | None:
    """The keyword arguments of `run_check` for a plain `check` command line, else None."""
    if not args or args[0] != "check" or os.name == "nt":  # (on Windows click expands wildcards)
        return None
    options: dict = {"files": [], "as_json": False, "verbose": False}
    for arg in args[1:]:
        if arg in _FLAGS:
            options[_FLAGS[arg]] = True
        elif not arg or arg.startswith("-"):
            return None
        else:
            options["files"].append(arg)
    return options if options["files"] else None


def _stdout_as_click_writes_it() -> bool:
    # click.echo re-wraps an ASCII-only standard output as UTF-8: then let click write
    import codecs

    try:
        return codecs.lookup(getattr(sys.stdout, "encoding", None) or "ascii").name != "ascii"
    except LookupError:
        return False


def _echo(message: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{message}\n")
    stream.flush()


class _Quiet:
    """A stream whose flush never fails: after a closed pipe, as click leaves stdout."""

    def __init__(self, stream):
        self._stream = stream

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int | None:
    args = sys.argv[1:] if argv is None else list(argv)
    options = quick_check_args(args)
    if options is None or not _stdout_as_click_writes_it():
        from jixiao.cli import main as command

        return command() if argv is None else command(args)
    from pathlib import Path

    from jixiao.cli_check import run_check

    try:
        return run_check([Path(f) for f in options["files"]], as_json=options["as_json"],
                         verbose=options["verbose"], echo=_echo)
    except (EOFError, KeyboardInterrupt):
        # as click ends an interrupted command
        _echo("", err=True)
        _echo("Aborted!", err=True)
        return 1
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        sys.stdout, sys.stderr = _Quiet(sys.stdout), _Quiet(sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
