#!/usr/bin/python3
# stores: journal
"""The PostgreSQL harness itself, without orderd: scripts/pg-throwaway and
pglib.Postgres on a real PostgreSQL. (Once, in the journal pass: it is
what the PostgreSQL pass stands on.)

- start (--fast): the cluster answers on its conninfo, also in DIR/conninfo,
  listens on 127.0.0.1 only with its socket in DIR, UTF8 and C locale,
  durability off; run as root, it is owned by and runs as postgres;
- create_database is idempotent; a table, a row, psql's rows back;
- stop: nothing answers; start-again: same port, the row is there;
- kill (a crash): start-again replays the WAL, and a row committed with
  synchronous_commit on just before is there;
- the runner's shared cluster (ORDERD_PG_BASE) is used, not stopped, and
  orderd's database for a data dir is the same for the same dir;
- destroy: the directory is gone;
- without initdb, pg-throwaway says so."""
import os
import pwd
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, expect  # noqa: E402
import pglib  # noqa: E402
from pglib import PgError, Postgres  # noqa: E402


def refused(pg, what):
    try:
        pg.psql("select 1")
    except PgError as e:
        check(what, "Connection refused" in str(e) or "connection to server" in str(e), str(e))
        return
    raise TestFailure(what + ": the cluster still answers")


def pid_owner(data):
    with open(os.path.join(data, "postmaster.pid")) as f:
        pid = int(f.readline())
    return pwd.getpwuid(os.stat("/proc/%d" % pid).st_uid).pw_name


try:
    with Postgres() as pg:
        d = pg.dir
        ci = pg.conninfo()
        parts = dict(w.split("=", 1) for w in ci.split())
        expect("conninfo keys", sorted(parts), ["dbname", "host", "port", "user"])
        expect("conninfo host, user, db", (parts["host"], parts["user"], parts["dbname"]),
               ("127.0.0.1", "postgres", "postgres"))
        with open(os.path.join(d, "conninfo")) as f:
            expect("DIR/conninfo", f.read().strip(), ci)
        settings = pg.psql("select current_setting('port'), current_setting('listen_addresses'), "
                           "current_setting('unix_socket_directories'), current_setting('fsync'), "
                           "current_setting('synchronous_commit'), "
                           "current_setting('full_page_writes'), current_setting('max_connections'), "
                           "current_setting('lc_collate'), current_setting('server_encoding')")
        expect("settings", settings, [(parts["port"], "127.0.0.1", os.path.join(d, "sock"),
                                       "off", "off", "off", "200", "C", "UTF8")])
        if os.geteuid() == 0:
            expect("run as root, the postmaster runs as", pid_owner(os.path.join(d, "data")),
                   "postgres")

        pg.create_database("t")
        pg.create_database("t")  # again: nothing happens
        check("the database exists", "t" in pg.databases(), repr(pg.databases()))
        expect("create and insert", pg.psql(
            "create table x (a int primary key, b text); "
            "insert into x values (1, 'one')", "t"), [])
        expect("select", pg.psql("select a, b from x order by a", "t"), [("1", "one")])

        pg.stop()
        check("stopped", not pg.running())
        refused(pg, "after stop")
        pg.stop()  # again: quiet
        pg.start_again()
        expect("the same conninfo after start-again", pg.conninfo(), ci)
        expect("the row after stop and start-again", pg.psql("select a, b from x", "t"),
               [("1", "one")])

        # --fast has synchronous_commit off; a row committed with it on is
        # in the WAL (written, not fsynced: fsync is off) when the crash
        # comes, and the crash is of PostgreSQL, not of the machine.
        pg.psql("set synchronous_commit = on; insert into x values (2, 'two')", "t")
        pg.kill()
        check("killed", not pg.running())
        refused(pg, "after kill")
        pg.start_again()
        with open(os.path.join(d, "log"), errors="replace") as f:
            check("the start after kill recovered", "automatic recovery in progress" in f.read())
        expect("the rows after kill and start-again", pg.psql("select a, b from x order by a", "t"),
               [("1", "one"), ("2", "two")])

        # The runner's cluster, as the tests in its PostgreSQL pass see it.
        os.environ["ORDERD_PG_BASE"] = ci
        with pglib.shared() as shared:
            check("shared() is the runner's cluster", not shared.owned)
            expect("shared conninfo", shared.conninfo("t"), pg.conninfo("t"))
            try:
                shared.stop()
                raise TestFailure("shared().stop() stopped the runner's cluster")
            except PgError:
                pass
        check("the runner's cluster runs on after shared()", pg.running())
        data = tempfile.mkdtemp(prefix="orderd-pgdata-")
        try:
            first = pglib.orderd_conninfo(data)
            again = pglib.orderd_conninfo(os.path.join(data, ".", ""))
            expect("one database for one data dir", again, first)
            name = pglib.orderd_database(data)
            check("its name", name.startswith("o_") and len(name) == 18, name)
            expect("its conninfo", first, pg.conninfo(name))
            check("it exists", name in pg.databases())
            out = subprocess.run([sys.executable, pglib.__file__, "orderd-conninfo", data],
                                 capture_output=True, text=True, timeout=60)
            expect("the command lib.sh uses", (out.returncode, out.stdout.strip()), (0, first))
            pglib.drop_orderd_database(data)
            check("dropped", name not in pg.databases())
        finally:
            os.rmdir(data)
            del os.environ["ORDERD_PG_BASE"]
    check("destroyed: its directory is gone", not os.path.exists(d), d)

    # No PostgreSQL to be found: a clear error, and nothing made.
    missing = os.path.join(tempfile.gettempdir(), "orderd-pg-missing-%d" % os.getpid())
    env = dict(os.environ, PATH="/usr/bin:/bin", PG_LIBDIR="/nonexistent")
    env.pop("PG_BINDIR", None)
    r = subprocess.run([pglib.THROWAWAY, "start", missing], capture_output=True, text=True,
                       env=env, timeout=60)
    check("without initdb: an error", r.returncode != 0 and "initdb not found" in r.stderr,
          repr((r.returncode, r.stderr)))
    check("without initdb: nothing made", not os.path.exists(missing))
except (TestFailure, PgError) as e:
    print("FAIL:", e)
    sys.exit(1)
print("ok")
