"""A bounded load test through the real pages: simulated users browse, search, share, accept,
reject and remove, signed in through the login form (CSRF included), for a fixed time. Then the
database is checked: no share duplicated, none lost, none on its own owner's image.

    DATABASE_URL=postgres://… python manage.py generate_world      # once
    DATABASE_URL=postgres://… python -m bench.load [--users 50] [--seconds 60]

It starts the production server (gunicorn) on a free loopback port, unless --base-url points at
a running one. Exit status 1 when any request failed or the database check found a problem.

Races are designed out of the bookkeeping, not out of the load: each image is shared and unshared
by one simulated user only (so the expected set of shares is exact), while the target projects'
users accept and reject concurrently. An accept that arrives after the owner removed the share is
refused with 404 — that is the rule working, counted apart from errors.
"""

import argparse
import os
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from .server import Client, Server, percentile

SEARCH_TERMS = ["ubuntu", "debian", "rocky", "web", "db", "gpu", "alp"]
ROW_LINK = re.compile(r'href="/project/images/([0-9a-f-]{36})/"')
NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')
PENDING_ROW = re.compile(r'<tr id="row-([0-9a-f-]{36})" class="row-pending"')


@dataclass
class Account:
    username: str
    password: str
    project_id: str
    cookies: dict = field(default_factory=dict)


@dataclass
class Ledger:
    """What the load did to shares, as the server acknowledged it."""

    added: set = field(default_factory=set)  # (image_id, project_id) present at the end
    removed: set = field(default_factory=set)  # removed and not added again
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Stats:
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    errors: list = field(default_factory=list)
    refusals: Counter = field(default_factory=Counter)  # expected refusals (the rules at work)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, action: str, response, ok: tuple[int, ...], expected_refusals: tuple[int, ...] = ()
    ) -> bool:
        with self.lock:
            self.latencies[action].append(response.seconds * 1000)
            if response.status in ok:
                return True
            if response.status in expected_refusals:
                self.refusals[f"{action} {response.status}"] += 1
                return False
            self.errors.append(f"{action}: HTTP {response.status} {_message(response.body)}")
            return False


def _message(body: bytes) -> str:
    """The error a page shows (an error list or alert), else the start of the body."""
    text = body.decode(errors="replace")
    match = re.search(r'(?:class="errorlist[^"]*"|role="alert")[^>]*>(.*?)</(?:ul|div|p)>', text, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip() if match else repr(text[:160])


class SimulatedUser:
    def __init__(
        self,
        base,
        account: Account,
        images: list[str],
        targets: list[str],
        ledger: Ledger,
        stats: Stats,
        rng: random.Random,
        think: float,
    ):
        self.client = Client(base)
        self.client.cookies = dict(account.cookies)
        self.account = account
        self.images = images  # the images this user alone shares and unshares
        self.targets = targets  # other load projects, to share with
        self.ledger, self.stats, self.rng, self.think = ledger, stats, rng, think
        self.members: dict[str, set[str]] = defaultdict(set)  # my images' shares I made
        self.seen: list[str] = []  # image ids from the last list page

    def step(self) -> None:
        actions = [
            (self.browse, 30),
            (self.shared_tab, 10),
            (self.search, 10),
            (self.detail, 15),
            (self.members_tab, 5),
            (self.share, 12),
            (self.respond, 10),
            (self.remove, 8),
        ]
        action = self.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        action()

    def _list(self, action: str, path: str) -> str | None:
        response = self.client.get(path)
        if not self.stats.record(action, response, (200,)):
            return None
        text = response.text()
        self.seen = ROW_LINK.findall(text) or self.seen
        return text

    def browse(self) -> None:
        text = self._list("browse", "/project/images/")
        if text and self.rng.random() < 0.3 and (match := NEXT_LINK.search(text)):
            self._list("browse next page", "/project/images/" + match.group(1).replace("&amp;", "&"))

    def shared_tab(self) -> None:
        self._list("shared with me", "/project/images/?tab=shared")

    def search(self) -> None:
        term = self.rng.choice(SEARCH_TERMS)
        tab = self.rng.choice(["community", "catalog"])
        self._list("search", f"/project/images/?tab={tab}&q={term}")

    def detail(self) -> None:
        if not self.seen:
            return self.browse()
        image = self.rng.choice(self.seen)
        # An image listed a moment ago may have been unshared since: 404 is the rule, not an error.
        self.stats.record("detail", self.client.get(f"/project/images/{image}/"), (200,), (404,))

    def members_tab(self) -> None:
        image = self.rng.choice(self.images)
        self.stats.record("members tab", self.client.get(f"/project/images/{image}/?tab=members"), (200,))

    def share(self) -> None:
        image = self.rng.choice(self.images)
        mine = self.members[image]
        fresh = [t for t in self.targets if t not in mine]
        if mine and (not fresh or self.rng.random() < 0.1):
            # Now and then the same project again: refused (422), and nothing may change.
            target, expect_ok = self.rng.choice(sorted(mine)), False
        else:
            target, expect_ok = self.rng.choice(fresh), True
        response = self.client.post_form(f"/project/images/{image}/members/", {"project_id": target})
        if expect_ok:
            if self.stats.record("share", response, (302,)):
                mine.add(target)
                with self.ledger.lock:
                    self.ledger.added.add((image, target))
                    self.ledger.removed.discard((image, target))
        else:
            self.stats.record("share again", response, (422,))

    def remove(self) -> None:
        shared = [(image, target) for image, targets in self.members.items() for target in targets]
        if not shared:
            return self.share()
        image, target = self.rng.choice(shared)
        response = self.client.post_form(f"/project/images/{image}/members/{target}/remove/", {})
        if self.stats.record("remove", response, (302,)):
            self.members[image].discard(target)
            with self.ledger.lock:
                self.ledger.added.discard((image, target))
                self.ledger.removed.add((image, target))

    def respond(self) -> None:
        text = self._list("shared with me", "/project/images/?tab=shared&status=pending")
        if text is None:
            return
        pending = PENDING_ROW.findall(text)
        if not pending:
            return
        image = self.rng.choice(pending)
        status = self.rng.choice(["accepted", "accepted", "rejected"])
        response = self.client.post_form(
            f"/project/images/{image}/share/",
            {"status": status, "region": "row"},
            headers={"HX-Request": "true"},
        )
        # The owner may have removed the share meanwhile: then the image is gone for us (404).
        self.stats.record(f"respond {status}", response, (200,), (404, 403))


def run_load(
    base,
    accounts: list[Account],
    images: dict[str, list[str]],
    *,
    users: int,
    seconds: float,
    think: float,
    seed: int,
    existing: Set[Any] = frozenset(),
) -> tuple[Stats, Ledger, float]:
    """`users` simulated users spread over the accounts; returns stats, ledger and wall time."""
    ledger, stats = Ledger(added=set(existing)), Stats()
    project_ids = [a.project_id for a in accounts]
    sims = []
    per_account = defaultdict(list)
    for i in range(users):
        per_account[i % len(accounts)].append(i)
    for a_index, user_indexes in per_account.items():
        account = accounts[a_index]
        owned = images[account.project_id]
        for k, i in enumerate(user_indexes):
            mine = owned[k :: len(user_indexes)] or owned[:1]
            targets = [p for p in project_ids if p != account.project_id]
            sim = SimulatedUser(base, account, mine, targets, ledger, stats, random.Random(seed + i), think)
            for image, member in existing:
                if image in mine:
                    sim.members[image].add(member)
            sims.append(sim)
    deadline = time.monotonic() + seconds

    def loop(sim: SimulatedUser) -> None:
        while time.monotonic() < deadline:
            try:
                sim.step()
            except Exception as e:  # a broken connection or a parse failure is an error too
                with stats.lock:
                    stats.errors.append(f"{type(e).__name__}: {e}")
            if sim.think:
                time.sleep(sim.rng.uniform(0, 2 * sim.think))
        sim.client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(s,)) for s in sims]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, ledger, time.monotonic() - started


def check_shares(ledger: Ledger) -> list[str]:
    """Problems in the database after the load (needs Django set up): duplicated, lost or
    resurrected shares, and shares of an image with its own owner."""
    from django.db.models import Count, F

    from images.models import ImageMember

    problems = []
    duplicated = (
        ImageMember.objects.values("image_id", "member_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    if duplicated:
        problems.append(f"{duplicated} (image, project) pairs have more than one share")
    own = ImageMember.objects.filter(member_id=F("image__owner_id")).count()
    if own:
        problems.append(f"{own} shares name the image's own owner")
    touched = ledger.added | ledger.removed
    image_ids = {image for image, _ in touched}
    present = {
        (str(image), member)
        for image, member in ImageMember.objects.filter(image_id__in=image_ids).values_list(
            "image_id", "member_id"
        )
    }
    lost = [pair for pair in ledger.added if pair not in present]
    back = [pair for pair in ledger.removed if pair in present]
    if lost:
        problems.append(f"{len(lost)} acknowledged shares are missing, e.g. {lost[0]}")
    if back:
        problems.append(f"{len(back)} removed shares are still there, e.g. {back[0]}")
    return problems


def load_accounts(count: int, seed: int) -> tuple[list[Account], dict[str, list[str]]]:
    """Member users of generated projects (gen-*), and the images each project owns (needs Django)."""
    from django.db.models import F

    from dashboard.models import RoleAssignment
    from images.management.commands.generate_world import PASSWORD, PREFIX
    from images.models import Image

    rows = list(
        RoleAssignment.objects.filter(
            role="member", user__username__startswith=PREFIX, project__name__startswith=PREFIX
        )
        .exclude(user__username__endswith="-reader")
        .filter(user__username=F("project__name"))
        .values_list("user__username", "project_id")
        .order_by("project__name")
    )
    if len(rows) < 2:
        raise SystemExit("No generated world: run `python manage.py generate_world` first.")
    rng = random.Random(seed)
    chosen = rng.sample(rows, min(count, len(rows)))
    accounts = [Account(username, PASSWORD, project_id) for username, project_id in chosen]
    images = {}
    for account in accounts:
        # Members can be added to private (which become shared) and shared images only.
        owned = Image.objects.filter(
            owner_id=account.project_id, protected=False, visibility__in=["private", "shared"]
        ).order_by("id")
        images[account.project_id] = [str(pk) for pk in owned.values_list("pk", flat=True)[:200]]
    accounts = [a for a in accounts if images[a.project_id]]
    return accounts, images


def existing_shares(accounts: list[Account], images: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Shares the world already has between the load's projects (the load knows them from the start)."""
    from images.models import ImageMember

    projects = [a.project_id for a in accounts]
    ids = [image for owned in images.values() for image in owned]
    rows = ImageMember.objects.filter(image_id__in=ids, member_id__in=projects).values_list(
        "image_id", "member_id"
    )
    return {(str(image), member) for image, member in rows}


def sign_in(base, accounts: list[Account]) -> None:
    for account in accounts:
        client = Client(base)
        client.login(account.username, account.password)
        account.cookies = dict(client.cookies)
        client.close()


def report(stats: Stats, wall: float, problems: list[str]) -> str:
    everything = [ms for values in stats.latencies.values() for ms in values]
    lines = [f"{'action':<22} {'requests':>8} {'p50':>9} {'p95':>9}"]
    for action in sorted(stats.latencies):
        values = stats.latencies[action]
        lines.append(
            f"{action:<22} {len(values):>8} {percentile(values, 50):>7.1f}ms {percentile(values, 95):>7.1f}ms"
        )
    lines.append(
        f"{'all':<22} {len(everything):>8} {percentile(everything, 50):>7.1f}ms {percentile(everything, 95):>7.1f}ms"
    )
    lines.append(f"throughput: {len(everything) / wall:.1f} requests/s over {wall:.1f} s")
    lines.append(f"errors: {len(stats.errors)}")
    lines.extend(f"  {e}" for e in stats.errors[:10])
    if stats.refusals:
        lines.append(
            "expected refusals (the rules at work): "
            + ", ".join(f"{k} ×{v}" for k, v in sorted(stats.refusals.items()))
        )
    lines.append(
        "database check: " + ("no share duplicated or lost" if not problems else "; ".join(problems))
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=10, help="distinct gen-* users (each a project)")
    parser.add_argument("--think", type=float, default=0.5, help="mean think time between actions, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--base-url", help="a running server (http://127.0.0.1:PORT) instead of starting one")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    accounts, images = load_accounts(args.accounts, args.seed)
    server = None
    if args.base_url:
        host, _, port = args.base_url.removeprefix("http://").rstrip("/").partition(":")
        base = (host, int(port or 80))
    else:
        from django.conf import settings

        url = os.environ.get("DATABASE_URL") or f"sqlite:///{settings.DATABASES['default']['NAME']}"
        server = Server(url).start()
        base = server.base
    try:
        sign_in(base, accounts)
        print(f"{args.users} users on {len(accounts)} accounts for {args.seconds:.0f} s…", flush=True)
        stats, ledger, wall = run_load(
            base,
            accounts,
            images,
            users=args.users,
            seconds=args.seconds,
            think=args.think,
            seed=args.seed,
            existing=existing_shares(accounts, images),
        )
    finally:
        if server:
            server.stop()
    problems = check_shares(ledger)
    print(report(stats, wall, problems))
    return 1 if stats.errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
