"""Fill in deploy/nginx.conf: `python -m deploy.nginx --listen 0.0.0.0:80 > /etc/images/nginx.conf`.

Every @NAME@ placeholder of the template is a keyword of render(); DEFAULTS holds the production
values (the tests and the slow-client benchmark shorten the timeout and move everything to free
loopback ports and a temporary directory).
"""

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf")

DEFAULTS = {
    # The address nginx listens on, and the two gunicorn pools (GUNICORN_BIND of each).
    "listen": "0.0.0.0:80",
    "pages": "127.0.0.1:8001",
    "data": "127.0.0.1:8002",
    # Where nginx keeps its pid file, logs and temporary files (request bodies, responses).
    "run_dir": "/var/lib/images-nginx",
    # The account nginx's workers run as (ignored when nginx is started by another user).
    "user": "www-data",
    "workers": "auto",
    # Header in full, and the longest pause in a body or in reading a response.
    "client_timeout": "10s",
    # Requests in progress per client address before 429.
    "conn_limit": "32",
}


def render(**values: str) -> str:
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown placeholders: {', '.join(sorted(unknown))}")
    filled = {**DEFAULTS, **values}
    text = TEMPLATE.read_text()
    names = set(re.findall(r"@([A-Z_]+)@", text))
    if names != {name.upper() for name in DEFAULTS}:
        raise ValueError(f"the template's placeholders {sorted(names)} do not match DEFAULTS")
    return re.sub(r"@([A-Z_]+)@", lambda m: str(filled[m.group(1).lower()]), text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=default, help=f"default: {default}")
    args = parser.parse_args(argv)
    sys.stdout.write(render(**vars(args)))


if __name__ == "__main__":
    main()
