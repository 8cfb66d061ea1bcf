"""Who may do what, over real sockets to a real sic-coordinator (and
redis-server; no workers): tokens for a viewer, two members (alice, bob), an
admin, a revoked member (eve) and the shared token, each trying every
state-changing RPC (through sicctl) and REST route on alice's sweeps.

  GrpcRolesTest   Submit (and a dry run), Cancel, RetryFailed, SetPriority,
                  Ask, Tell, CreateToken, RevokeToken, ListTokens, ListAudit
  RestRolesTest   the same as POST routes, and GET /api/v1/audit, /tokens
  OwnersTest      owners and priorities in list and show, the owner filter,
                  priority ranges, the open local mode, --auth-reads with a
                  viewer
Each answer is checked by its code: the audit row the call appended (one per
call, refusals included: an unknown or revoked token as user "?") carries
the code name the caller got; REST also by its HTTP status.

usage: roles_test.py BUILD_DIR [unittest args]"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase  # noqa: E402

SPEC = {"name": "roles", "base": {"optim": {"steps": 10}}, "seeds": 2}
EXTERNAL = {"name": "ext", "objective": {"metric": "value", "direction": "min"},
            "search": {"method": "random", "trials": 40, "seed": 1, "external": True,
                       "params": {"x": {"uniform": [0, 1]}}}}

# Who tries, in this order (refusals first: they change nothing), and what
# each may do to a sweep of alice: its answer's code, and the audit row's user.
OWN_SWEEP = [("vic", "PERMISSION_DENIED", "vic"), ("bob", "PERMISSION_DENIED", "bob"),
             ("eve", "UNAUTHENTICATED", "?"), ("wrong", "UNAUTHENTICATED", "?"),
             ("alice", "OK", "alice"), ("root", "OK", "root"), ("shared", "OK", "admin")]
SUBMIT = [("vic", "PERMISSION_DENIED", "vic"), ("eve", "UNAUTHENTICATED", "?"), ("wrong", "UNAUTHENTICATED", "?"),
          ("alice", "OK", "alice"), ("bob", "OK", "bob"), ("root", "OK", "root"), ("shared", "OK", "admin")]
ADMIN_ONLY = [("vic", "PERMISSION_DENIED", "vic"), ("alice", "PERMISSION_DENIED", "alice"),
              ("bob", "PERMISSION_DENIED", "bob"), ("eve", "UNAUTHENTICATED", "?"),
              ("wrong", "UNAUTHENTICATED", "?"), ("root", "OK", "root"), ("shared", "OK", "admin")]
HTTP_STATUS = {"OK": (200, 201), "PERMISSION_DENIED": (403,), "UNAUTHENTICATED": (401,)}


class Base(ClusterTestCase):
    def setUp(self):
        self.c = self.cluster()
        self.tokens = {"shared": self.c.token, "wrong": "sic_not-a-token"}
        self.ids = {}
        for user, role in (("vic", "viewer"), ("alice", "member"), ("bob", "member"), ("root", "admin"),
                           ("eve", "member")):
            r = self.c.sicctl("--format", "json", "token", "create", user, "--role", role)
            self.assertEqual(r.returncode, 0, r.stderr)
            row = json.loads(r.stdout)
            self.assertEqual((row["user"], row["role"]), (user, role))
            self.tokens[user], self.ids[user] = row["token"], row["id"]
        r = self.c.sicctl("token", "revoke", str(self.ids["eve"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.spec_path = self.write(SPEC)
        self.ext_path = self.write(EXTERNAL)

    def write(self, spec):
        path = os.path.join(self.c.dir, "%s-%d.json" % (spec["name"], len(os.listdir(self.c.dir))))
        with open(path, "w") as f:
            json.dump(spec, f)
        return path

    def as_user(self, who, *args):
        return self.c.sicctl(*args, token=self.tokens[who])

    def submit(self, who, path=None):
        r = self.as_user(who, "--format", "json", "sweep", path or self.spec_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["sweep"]

    def last_audit_id(self):
        return self.c.query("SELECT COALESCE(MAX(id), 0) FROM audit")[0][0]

    def audited_since(self, after):
        return self.c.query("SELECT user, role, action, target, code, source FROM audit WHERE id > ? ORDER BY id",
                            after)

    def check_audit(self, after, user, action, code, target=None):
        """Exactly one row since `after`: by `user`, of `action`, answered `code`."""
        rows = self.audited_since(after)
        self.assertEqual(len(rows), 1, rows)
        got_user, role, got_action, got_target, got_code, source = rows[0]
        self.assertEqual((got_user, got_action, got_code), (user, action, code), rows[0])
        self.assertTrue(source.startswith("ipv4:127.0.0.1:") or source.startswith("ipv6:"), source)
        if user == "?":
            self.assertEqual(role, "")
        else:
            self.assertIn(role, ("viewer", "member", "admin"))
        if target is not None:
            self.assertEqual(got_target, target)
        return rows[0]


class GrpcRolesTest(Base):
    def attempt(self, who, code, audit_user, action, args, target=None):
        before = self.last_audit_id()
        r = self.as_user(who, *args)
        with self.subTest(who=who, action=action):
            if code == "OK":
                self.assertEqual(r.returncode, 0, r.stderr)
            else:
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertTrue(r.stderr.startswith("sicctl: "), r.stderr)
            self.check_audit(before, audit_user, action, code, target)
        return r

    def test_submit_and_dry_run(self):
        for who, code, user in SUBMIT:
            r = self.attempt(who, code, user, "Submit", ["--format", "json", "sweep", self.spec_path])
            if code == "OK":
                sweep = json.loads(r.stdout)["sweep"]
                # The caller owns what it submitted.
                self.assertEqual(self.c.query("SELECT owner FROM sweeps WHERE id = ?", sweep)[0][0], user)
                self.check_audit(self.last_audit_id() - 1, user, "Submit", "OK", "sweep %d" % sweep)
            self.attempt(who, code, user, "Submit", ["sweep", self.spec_path, "--dry-run"], "dry run")
        # Refusals stored nothing: one sweep per allowed caller.
        self.assertEqual(self.c.query("SELECT COUNT(*) FROM sweeps")[0][0], 4)

    def test_cancel_retry_priority_of_anothers_sweep(self):
        for action, verb in (("Cancel", ["cancel"]), ("RetryFailed", ["retry", "--failed"]),
                             ("SetPriority", ["priority"])):
            sweep = self.submit("alice")
            for who, code, user in OWN_SWEEP:
                args = verb + [str(sweep)] + (["7"] if action == "SetPriority" else [])
                self.attempt(who, code, user, action, args, "sweep %d" % sweep)
            if action == "Cancel":
                self.assertEqual(self.c.query("SELECT canceled FROM sweeps WHERE id = ?", sweep)[0][0], 1)
            if action == "SetPriority":
                self.assertEqual(self.c.query("SELECT priority FROM sweeps WHERE id = ?", sweep)[0][0], 7)
        # A missing sweep is NOT_FOUND, for a member too (nothing to own).
        before = self.last_audit_id()
        self.assertEqual(self.as_user("alice", "cancel", "999").returncode, 1)
        self.check_audit(before, "alice", "Cancel", "NOT_FOUND", "sweep 999")

    def test_ask_and_tell(self):
        sweep = self.submit("alice", self.ext_path)
        for who, code, user in OWN_SWEEP:
            r = self.attempt(who, code, user, "Ask", ["ask", str(sweep)], "sweep %d" % sweep)
        asked = []
        for _ in range(len(OWN_SWEEP)):
            r = self.as_user("alice", "ask", str(sweep))
            self.assertEqual(r.returncode, 0, r.stderr)
            asked.append(json.loads(r.stdout)["trial"])
        for (who, code, user), trial in zip(OWN_SWEEP, asked):
            self.attempt(who, code, user, "Tell", ["tell", str(sweep), str(trial), "0.5"],
                         "trial %d of sweep %d" % (trial, sweep))
        told = self.c.query("SELECT COUNT(*) FROM trials WHERE sweep_id = ? AND status = 'succeeded'", sweep)[0][0]
        self.assertEqual(told, sum(1 for _, code, _ in OWN_SWEEP if code == "OK"))

    def test_tokens_and_audit_are_the_admins(self):
        for who, code, user in ADMIN_ONLY:
            r = self.attempt(who, code, user, "CreateToken", ["token", "create", "new-" + who, "--role", "viewer"])
            if code == "OK":
                # Table format: the token alone on stdout, and it works.
                self.assertEqual(len(r.stdout.splitlines()), 1, r.stdout)
                token = r.stdout.strip()
                self.assertEqual(self.c.sicctl("list", token=token).returncode, 0)
                self.assertEqual(self.c.sicctl("sweep", self.spec_path, token=token).returncode, 1)
        victims = []
        for n in range(2):
            r = self.as_user("root", "--format", "json", "token", "create", "victim%d" % n, "--role", "member")
            victims.append(json.loads(r.stdout)["id"])
        for who, code, user in ADMIN_ONLY:
            token_id = victims[0]
            self.attempt(who, code, user, "RevokeToken", ["token", "revoke", str(token_id)], "token %d" % token_id)
            if code == "OK":
                victims.pop(0)
        self.assertEqual(victims, [])
        revoked = {t["id"] for t in json.loads(self.as_user("root", "--format", "json", "token", "list").stdout)
                   if t["revoked"]}
        self.assertLessEqual({self.ids["eve"]}, revoked)
        # Revoking twice is refused by its code; the revoked token is refused from then on.
        before = self.last_audit_id()
        self.assertEqual(self.as_user("root", "token", "revoke", str(self.ids["eve"])).returncode, 1)
        self.check_audit(before, "root", "RevokeToken", "FAILED_PRECONDITION")
        # Reads of tokens and of the audit log: admins only, and not audited.
        for who, code, _ in ADMIN_ONLY:
            before = self.last_audit_id()
            for args in (["token", "list"], ["audit"]):
                r = self.as_user(who, *args)
                self.assertEqual(r.returncode, 0 if code == "OK" else 1, (who, args, r.stderr))
            self.assertEqual(self.audited_since(before), [])
        # The token list never shows a token or its digest.
        listing = self.as_user("root", "--format", "json", "token", "list").stdout
        for user in ("vic", "alice", "bob", "root"):
            self.assertNotIn(self.tokens[user], listing)
        self.assertNotIn("digest", listing)

    def test_sicctl_audit_filters_by_user(self):
        self.submit("alice")
        self.as_user("bob", "cancel", "1")
        rows = json.loads(self.as_user("root", "--format", "json", "audit", "--user", "bob").stdout)
        self.assertEqual([(r["user"], r["action"], r["target"], r["code"]) for r in rows],
                         [("bob", "Cancel", "sweep 1", "PERMISSION_DENIED")])
        rows = json.loads(self.as_user("root", "--format", "json", "audit", "--limit", "2").stdout)
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0]["user"], "bob")  # newest first
        self.assertEqual(rows[1]["action"], "Submit")


def call(c, method, path, token=None, body=None):
    """(status, parsed JSON body) of a request to the coordinator's REST API."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(c.http_url + path, data=data, method=method)
    if method == "POST":
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class RestRolesTest(Base):
    def attempt(self, who, code, audit_user, method, route, path, body=None, target=None):
        before = self.last_audit_id()
        status, answer = call(self.c, method, path, self.tokens[who], body if body is not None else {})
        with self.subTest(who=who, route=route):
            self.assertIn(status, HTTP_STATUS[code], answer)
            if code != "OK":
                self.assertEqual(list(answer), ["error"])
            self.check_audit(before, audit_user, method + " " + route, code, target)
        return status, answer

    def test_every_post_route(self):
        for who, code, user in SUBMIT:
            status, answer = self.attempt(who, code, user, "POST", "/api/v1/sweeps", "/api/v1/sweeps", SPEC)
            if code == "OK":
                self.assertEqual(status, 201)
                self.assertEqual(self.c.query("SELECT owner FROM sweeps WHERE id = ?", answer["sweep_id"])[0][0], user)
            self.attempt(who, code, user, "POST", "/api/v1/sweeps", "/api/v1/sweeps?dry_run=1", SPEC,
                         target="dry run")
        for verb, body in (("cancel", {}), ("retry", {}), ("priority", {"priority": -3})):
            sweep = self.submit("alice")
            for who, code, user in OWN_SWEEP:
                self.attempt(who, code, user, "POST", "/api/v1/sweeps/{id}/" + verb,
                             "/api/v1/sweeps/%d/%s" % (sweep, verb), body, target="sweep %d" % sweep)
        self.assertEqual(self.c.query("SELECT priority FROM sweeps WHERE id = ?", sweep)[0][0], -3)
        ext = self.submit("alice", self.ext_path)
        for who, code, user in OWN_SWEEP:
            self.attempt(who, code, user, "POST", "/api/v1/sweeps/{id}/ask", "/api/v1/sweeps/%d/ask" % ext)
        for who, code, user in OWN_SWEEP:
            trial = call(self.c, "POST", "/api/v1/sweeps/%d/ask" % ext, self.tokens["alice"], {})[1]["trial"]
            # A refusal comes before the body is read: it names the sweep only.
            self.attempt(who, code, user, "POST", "/api/v1/sweeps/{id}/tell", "/api/v1/sweeps/%d/tell" % ext,
                         {"trial": trial, "value": 1.5},
                         target="trial %d of sweep %d" % (trial, ext) if code == "OK" else "sweep %d" % ext)
        for who, code, user in ADMIN_ONLY:
            status, answer = self.attempt(who, code, user, "POST", "/api/v1/tokens", "/api/v1/tokens",
                                          {"user": "web-" + who, "role": "member"})
            if code == "OK":
                self.assertEqual(status, 201)
                self.assertEqual(call(self.c, "POST", "/api/v1/sweeps", answer["token"], SPEC)[0], 201)
                self.attempt(who, code, user, "POST", "/api/v1/tokens/{id}/revoke",
                             "/api/v1/tokens/%d/revoke" % answer["id"], target="token %d" % answer["id"])
                self.assertEqual(call(self.c, "POST", "/api/v1/sweeps", answer["token"], SPEC)[0], 401)
            else:
                self.attempt(who, code, user, "POST", "/api/v1/tokens/{id}/revoke",
                             "/api/v1/tokens/%d/revoke" % self.ids["vic"], target="token %d" % self.ids["vic"])

    def test_only_an_admin_lets_a_sweep_preempt(self):
        # Preemption stops other users' running trials: admin only, even for the sweep's owner.
        for who, code, user in ADMIN_ONLY:
            sweep = self.submit("alice")
            self.attempt(who, code, user, "POST", "/api/v1/sweeps/{id}/priority", "/api/v1/sweeps/%d/priority" % sweep,
                         {"priority": 2, "preempt": True}, target="sweep %d" % sweep)
            want = (2, 1) if code == "OK" else (0, 0)
            self.assertEqual(self.c.query("SELECT priority, preempt FROM sweeps WHERE id = ?", sweep)[0], want, who)
        # The owner may take it back, and a priority alone leaves it as it is.
        status, answer = call(self.c, "POST", "/api/v1/sweeps/%d/priority" % sweep, self.tokens["alice"],
                              {"priority": 3})
        self.assertEqual((status, self.c.query("SELECT preempt FROM sweeps WHERE id = ?", sweep)[0][0]), (200, 1))
        status, answer = call(self.c, "POST", "/api/v1/sweeps/%d/priority" % sweep, self.tokens["alice"],
                              {"priority": 3, "preempt": False})
        self.assertEqual((status, answer), (200, {"sweep": sweep, "priority": 3, "preempt": False}))
        self.assertEqual(self.c.query("SELECT preempt FROM sweeps WHERE id = ?", sweep)[0][0], 0)
        # At submit, by query or by spec key.
        preempting = dict(SPEC, preempt=True)
        for who, code, user in ADMIN_ONLY:
            if code == "UNAUTHENTICATED":
                continue
            n = self.c.query("SELECT COUNT(*) FROM sweeps")[0][0]
            for path, body in (("/api/v1/sweeps?preempt=1", SPEC), ("/api/v1/sweeps", preempting)):
                status, answer = self.attempt(who, code, user, "POST", "/api/v1/sweeps", path, body)
                if code == "OK":
                    self.assertEqual(self.c.query("SELECT preempt FROM sweeps WHERE id = ?", answer["sweep_id"])[0][0], 1)
                else:
                    self.assertIn("admin", answer["error"])
            if code != "OK":
                self.assertEqual(self.c.query("SELECT COUNT(*) FROM sweeps")[0][0], n, "a refusal stored a sweep")
        for body in ({"priority": 1, "preempt": "yes"}, {"priority": 1, "preempt": 1},
                     {"priority": 1, "preempt": True, "x": 2}, {"preempt": True}):
            status, answer = call(self.c, "POST", "/api/v1/sweeps/%d/priority" % sweep, self.tokens["root"], body)
            self.assertEqual(status, 400, (body, answer))

    def test_quotas_are_set_by_admins_and_read_by_anyone(self):
        for who, code, user in ADMIN_ONLY:
            self.attempt(who, code, user, "POST", "/api/v1/quotas", "/api/v1/quotas",
                         {"user": "alice", "max_running": 3}, target="quota of alice" if code == "OK" else None)
        status, answer = call(self.c, "GET", "/api/v1/quotas", self.tokens["vic"])
        self.assertEqual(status, 200, answer)
        self.assertEqual([(q["user"], q["max_running"], q["set_by"]) for q in answer["quotas"]], [("alice", 3, "admin")])
        self.assertEqual(answer["default_max_running"], 0)
        for body in ({"user": "alice"}, {"user": "alice", "max_running": -1}, {"user": "alice", "max_running": "3"},
                     {"user": "alice", "max_running": 1000001}, {"user": "a b", "max_running": 1},
                     {"user": "alice", "max_running": 1, "x": 1}, {"user": "admin", "max_running": 1},
                     {"max_running": 1}, b"{not json"):
            status, answer = call(self.c, "POST", "/api/v1/quotas", self.tokens["root"], body)
            self.assertEqual(status, 400, (body, answer))
        self.assertEqual(self.c.query("SELECT user, max_running FROM quotas"), [("alice", 3)])
        status, answer = call(self.c, "POST", "/api/v1/quotas", self.tokens["root"], {"user": "alice", "max_running": None})
        self.assertEqual((status, answer), (200, {"user": "alice", "max_running": None}))
        self.assertEqual(call(self.c, "POST", "/api/v1/quotas", self.tokens["root"],
                              {"user": "alice", "max_running": None})[0], 404)
        self.assertEqual(self.c.query("SELECT COUNT(*) FROM quotas")[0][0], 0)
        # sicctl, as an admin and as a member.
        r = self.as_user("root", "quota", "set", "bob", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.as_user("alice", "quota", "set", "alice", "50")
        self.assertEqual(r.returncode, 1)
        self.assertIn("admin", r.stderr)
        r = self.as_user("vic", "--format", "csv", "quota", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[1].split(",")[:3], ["bob", "2", "root"])

    def test_admin_reads_and_the_audit_route(self):
        self.submit("alice")
        call(self.c, "POST", "/api/v1/sweeps/1/cancel", self.tokens["bob"], {})
        for who, code, _ in ADMIN_ONLY:
            for path in ("/api/v1/audit", "/api/v1/tokens"):
                status, answer = call(self.c, "GET", path, self.tokens[who])
                self.assertIn(status, HTTP_STATUS[code], (who, path, answer))
        status, answer = call(self.c, "GET", "/api/v1/audit?user=bob&limit=5", self.tokens["root"])
        self.assertEqual(status, 200, answer)
        self.assertEqual([(e["user"], e["role"], e["action"], e["target"], e["code"]) for e in answer["entries"]],
                         [("bob", "member", "POST /api/v1/sweeps/{id}/cancel", "sweep 1", "PERMISSION_DENIED")])
        status, answer = call(self.c, "GET", "/api/v1/audit?limit=1&offset=1", self.tokens["root"])
        self.assertEqual([e["action"] for e in answer["entries"]], ["Submit"])
        for bad in ("limit=0", "limit=1001", "offset=-1", "limit=x"):
            self.assertEqual(call(self.c, "GET", "/api/v1/audit?" + bad, self.tokens["root"])[0], 400, bad)
        tokens = call(self.c, "GET", "/api/v1/tokens", self.tokens["root"])[1]["tokens"]
        eve = [t for t in tokens if t["user"] == "eve"][0]
        self.assertIsNotNone(eve["revoked_at"])
        self.assertNotIn("token", eve)
        # GETs are not audited.
        self.assertEqual(self.c.query("SELECT COUNT(*) FROM audit WHERE action LIKE 'GET %'")[0][0], 0)

    def test_bad_bodies_are_400_and_audited(self):
        sweep = self.submit("alice")
        for body in ({}, {"priority": 1001}, {"priority": -1001}, {"priority": "1"}, {"priority": 1.5},
                     {"priority": 1, "x": 2}, {"priority": 18446744073709551615}, b"{not json"):
            before = self.last_audit_id()
            status, answer = call(self.c, "POST", "/api/v1/sweeps/%d/priority" % sweep, self.tokens["alice"], body)
            self.assertEqual(status, 400, (body, answer))
            self.check_audit(before, "alice", "POST /api/v1/sweeps/{id}/priority", "INVALID_ARGUMENT")
        for body in ({"user": "admin", "role": "member"}, {"user": "x", "role": "root"}, {"user": "a b", "role": "viewer"},
                     {"user": "x"}):
            self.assertEqual(call(self.c, "POST", "/api/v1/tokens", self.tokens["root"], body)[0], 400, body)
        self.assertEqual(call(self.c, "POST", "/api/v1/sweeps?priority=1001", self.tokens["alice"], SPEC)[0], 400)


class OwnersTest(Base):
    def test_owner_and_priority_in_list_show_and_the_filter(self):
        a = self.submit("alice")
        r = self.as_user("bob", "--format", "json", "sweep", self.spec_path, "--priority", "-20")
        self.assertEqual(r.returncode, 0, r.stderr)
        b = json.loads(r.stdout)["sweep"]
        listed = {row["sweep"]: row for row in json.loads(self.as_user("vic", "--format", "json", "list").stdout)}
        self.assertEqual((listed[a]["owner"], listed[a]["priority"]), ("alice", 0))
        self.assertEqual((listed[b]["owner"], listed[b]["priority"]), ("bob", -20))
        only_bob = json.loads(self.as_user("vic", "--format", "json", "list", "--owner", "bob").stdout)
        self.assertEqual([row["sweep"] for row in only_bob], [b])
        self.assertEqual(json.loads(self.as_user("vic", "--format", "json", "list", "--owner", "nobody").stdout), [])
        status, answer = call(self.c, "GET", "/api/v1/sweeps?owner=alice")
        self.assertEqual((status, answer["total"], [s["id"] for s in answer["sweeps"]]), (200, 1, [a]))
        self.assertEqual(answer["sweeps"][0]["owner"], "alice")
        self.assertIn("owner bob, priority -20", self.as_user("vic", "show", str(b)).stdout.splitlines()[1])
        # The change shows at once in the (cached) REST list.
        self.assertEqual(self.as_user("bob", "priority", str(b), "1000").returncode, 0)
        status, answer = call(self.c, "GET", "/api/v1/sweeps?owner=bob")
        self.assertEqual(answer["sweeps"][0]["priority"], 1000)

    def test_priority_ranges(self):
        sweep = self.submit("alice")
        for args in (["priority", str(sweep), "1001"], ["priority", str(sweep), "-1001"],
                     ["sweep", self.spec_path, "--priority", "5000"]):
            r = self.as_user("alice", *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
        self.assertEqual(self.as_user("alice", "priority", str(sweep), "-1000").returncode, 0)
        self.assertEqual(self.c.query("SELECT priority FROM sweeps WHERE id = ?", sweep)[0][0], -1000)

    def test_auth_reads_lets_a_viewer_read_and_nobody_else(self):
        c = self.cluster(coordinator_args=["--auth-reads"])
        r = c.sicctl("--format", "json", "token", "create", "vic", "--role", "viewer")
        vic = json.loads(r.stdout)["token"]
        self.assertEqual(c.sicctl("list", token=vic).returncode, 0)
        self.assertEqual(call(c, "GET", "/api/v1/sweeps", vic)[0], 200)
        self.assertEqual(call(c, "GET", "/api/v1/sweeps", "sic_unknown")[0], 401)
        self.assertEqual(call(c, "GET", "/api/v1/sweeps")[0], 401)
        self.assertEqual(c.sicctl("list", token="sic_unknown").returncode, 1)


class LocalModeTest(ClusterTestCase):
    def test_without_a_shared_token_no_token_is_the_local_admin(self):
        c = self.cluster(token="")
        r = c.sicctl("--format", "json", "token", "create", "alice", "--role", "member")
        self.assertEqual(r.returncode, 0, r.stderr)
        alice = json.loads(r.stdout)["token"]
        path = os.path.join(c.dir, "spec.json")
        with open(path, "w") as f:
            json.dump(SPEC, f)
        local = json.loads(c.sicctl("--format", "json", "sweep", path).stdout)["sweep"]
        self.assertEqual(c.query("SELECT owner FROM sweeps WHERE id = ?", local)[0][0], "local")
        # A user's token still makes the caller that user, with its role.
        self.assertEqual(c.sicctl("cancel", str(local), token=alice).returncode, 1)
        self.assertEqual(c.query("SELECT code FROM audit ORDER BY id DESC LIMIT 1")[0][0], "PERMISSION_DENIED")
        # An unknown token never falls back to the open mode.
        self.assertEqual(c.sicctl("cancel", str(local), token="sic_unknown").returncode, 1)
        self.assertEqual(c.query("SELECT user, code FROM audit ORDER BY id DESC LIMIT 1")[0], ("?", "UNAUTHENTICATED"))
        self.assertEqual(c.sicctl("cancel", str(local)).returncode, 0)
        self.assertEqual(c.query("SELECT user, role, code FROM audit ORDER BY id DESC LIMIT 1")[0],
                         ("local", "admin", "OK"))


if __name__ == "__main__":
    ClusterTestCase.BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
