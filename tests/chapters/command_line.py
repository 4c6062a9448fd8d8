"""A snapshot's command line, run in this process: ``main(args)`` as ``python -m micrograd`` runs it.

One test (test_a3_command_line.py: test_python_dash_m_runs_main) starts a real
``python -m micrograd`` and compares; every other command-line test calls main()
here, which is the same code without the cost of a new interpreter.
"""
import contextlib
import io
import subprocess


def run_cli(mg, *args) -> subprocess.CompletedProcess:
    """mg's main(args) with its output captured, and the exit status `sys.exit(main())` would give."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = mg.command_line.main(list(args))
        except SystemExit as exit:  # argparse exits: 0 after --help, 2 on a bad argument
            status = exit.code
    if status is None:
        status = 0
    elif not isinstance(status, int):  # sys.exit("message") prints the message and exits 1
        print(status, file=err)
        status = 1
    return subprocess.CompletedProcess(["python", "-m", "micrograd", *args], status, out.getvalue(), err.getvalue())
