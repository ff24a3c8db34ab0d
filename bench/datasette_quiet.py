"""`datasette serve ...` with uvicorn's access log off, as sqlapi runs in the suite.

Datasette has no flag for it (it calls uvicorn.run with log_level="info"), so this
wraps uvicorn.run before Datasette's command line runs. Run with Datasette's Python:

    bench/.venv-datasette/bin/python bench/datasette_quiet.py serve -i big.db ...
"""

import functools

import uvicorn
from datasette.cli import cli

uvicorn.run = functools.partial(uvicorn.run, access_log=False)

if __name__ == "__main__":
    cli()
