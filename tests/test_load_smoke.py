"""A smoke run of the load test (bench/load.py) against the live server: a few simulated users
browse, share, accept and remove for a few seconds; no request fails and no share is lost."""

import io

import pytest
from django.core.management import call_command

from bench import load


@pytest.mark.django_db(transaction=True)
def test_a_short_load_fails_nothing_and_loses_no_share(live_server):
    call_command("generate_world", projects=8, images=240, members=200, seed=3, stdout=io.StringIO())
    accounts, images = load.load_accounts(4, seed=1)
    base = (live_server.thread.host, live_server.thread.port)
    load.sign_in(base, accounts)
    stats, ledger, _ = load.run_load(
        base,
        accounts,
        images,
        users=5,
        seconds=4,
        think=0.02,
        seed=1,
        existing=load.existing_shares(accounts, images),
    )
    assert stats.errors == []
    assert len(stats.latencies["share"]) > 0
    # How many requests fit in 4 s depends on the machine's load: no count is asserted beyond
    # "more than one kind of action ran".
    assert len([kind for kind, times in stats.latencies.items() if times]) > 1
    assert ledger.added or ledger.removed
    assert load.check_shares(ledger) == []
