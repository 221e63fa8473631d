"""Throwaway PostgreSQL clusters for the integration tests, through
scripts/pg-throwaway, and psql for looking inside them (no psycopg: the
standard library and /usr/bin/psql only).

    with Postgres() as pg:                      # initdb + start in a temp dir (--fast)
        pg.create_database("t")                 # idempotent
        pg.psql("create table x (a int, b text)", "t")
        pg.psql("insert into x values (1, 'one')", "t")
        pg.psql("select a, b from x", "t")      # [("1", "one")]
        pg.conninfo("t")                        # "host=127.0.0.1 port=N user=postgres dbname=t"
        pg.stop(); pg.start_again(); pg.kill()  # fast stop, start on its port, crash
    # stopped and removed here

    with shared() as pg:   # the run's cluster (ORDERD_PG_BASE), else a new one
        ...

The test runner's PostgreSQL pass (STORE=postgres tests/integration/run)
starts one cluster and exports ORDERD_STORE=postgres and ORDERD_PG_BASE (its
conninfo, dbname=postgres); harness.Orderd and lib.sh's start_orderd then
give orderd `--store postgres --pg <conninfo>` on a database named after
the data directory the test would have used (orderd_database), so a test
that restarts orderd on the same --data finds the same database.

As a command, for lib.sh:
    pglib.py orderd-conninfo DATA_DIR   creates DATA_DIR's database on
                                        $ORDERD_PG_BASE if missing, prints its conninfo
    pglib.py drop-orderd-db DATA_DIR    drops it
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
THROWAWAY = os.path.join(HERE, "..", "..", "scripts", "pg-throwaway")
PSQL = "/usr/bin/psql"
TIMEOUT = 120.0  # bound on any one script or psql run, not an expectation


class PgError(Exception):
    """psql or scripts/pg-throwaway failed; the message has their stderr."""


def with_dbname(conninfo, dbname):
    """conninfo (key=value words, or a postgres:// URI) naming dbname."""
    if conninfo.startswith(("postgres://", "postgresql://")):
        u = urllib.parse.urlsplit(conninfo)
        return urllib.parse.urlunsplit(u._replace(path="/" + urllib.parse.quote(dbname)))
    # key=value words; values may be 'quoted' with \ escapes (libpq's rules).
    words = re.findall(r"""\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)""", conninfo)
    out = ["%s=%s" % (k, v) for k, v in words if k != "dbname"]
    if re.fullmatch(r"[A-Za-z0-9_.-]+", dbname):
        out.append("dbname=" + dbname)
    else:
        out.append("dbname='%s'" % dbname.replace("\\", "\\\\").replace("'", "\\'"))
    return " ".join(out)


def ident(name):
    """name as a quoted SQL identifier."""
    return '"%s"' % name.replace('"', '""')


def literal(text):
    """text as an SQL string literal."""
    return "'%s'" % text.replace("'", "''")


def orderd_database(data_dir):
    """The database orderd gets in place of the data directory data_dir:
    o_ and the first 16 hex digits of the SHA-1 of its real path."""
    path = os.path.realpath(data_dir)
    return "o_" + hashlib.sha1(path.encode()).hexdigest()[:16]


def _run(args, what):
    try:
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise PgError("%s: no answer in %.0f s" % (what, TIMEOUT))
    if r.returncode != 0:
        raise PgError("%s failed (status %d):\n%s" % (what, r.returncode, r.stderr.strip()))
    return r.stdout


class Postgres:
    """A PostgreSQL cluster: one this object starts in a temp dir and
    removes on leaving the `with` block (Postgres(), fast by default), or
    one already running that it only uses (Postgres(conninfo=...))."""

    def __init__(self, fast=True, conninfo=None):
        self.fast = fast
        self.dir = None
        self._base = conninfo
        self.owned = conninfo is None

    def start(self):
        """Makes and starts the cluster (done by entering the `with`)."""
        if not self.owned or self.dir is not None:
            return self
        self.dir = tempfile.mkdtemp(prefix="orderd-pg-")
        try:
            out = self._script("start", *(["--fast"] if self.fast else []))
        except BaseException:
            try:
                self.destroy()
            except PgError as e:  # keep the first failure as the one raised
                print("pglib: %s" % e, file=sys.stderr)
            raise
        self._base = out.strip().splitlines()[-1]
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if self.owned:
            self.destroy()
        return False

    def _script(self, *args):
        if not self.owned:
            raise PgError("%s: not our cluster (%s); the runner that started it stops it"
                          % (args[0], self._base))
        if self.dir is None:
            raise PgError("%s: the cluster was not started" % args[0])
        return _run([THROWAWAY, args[0], self.dir] + list(args[1:]),
                    "scripts/pg-throwaway " + " ".join(args))

    def conninfo(self, dbname=None):
        """Its libpq conninfo, for dbname (default: postgres)."""
        if self._base is None:
            raise PgError("the cluster was not started")
        return self._base if dbname is None else with_dbname(self._base, dbname)

    def stop(self):
        """pg_ctl -m fast stop: a clean shutdown."""
        self._script("stop")

    def start_again(self):
        """Starts it again after stop() or kill(), on the same port."""
        self._script("start-again")

    def kill(self):
        """A crash: immediate shutdown, WAL replay at the next start."""
        self._script("kill")

    def running(self):
        if not self.owned:
            return True
        return subprocess.run([THROWAWAY, "status", self.dir], capture_output=True,
                              timeout=TIMEOUT).returncode == 0

    def destroy(self):
        """Stops it and removes its directory; nothing if not ours."""
        if not self.owned or self.dir is None:
            return
        d, self.dir = self.dir, None
        try:
            _run([THROWAWAY, "destroy", d], "scripts/pg-throwaway destroy")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def psql(self, sql, dbname=None):
        """Runs sql (one statement, or several: the last one's rows come
        back) and returns the rows as tuples of strings (NULL as ""),
        fields split on |. Raises PgError on any error."""
        out = _run([PSQL, "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1",
                    "-d", self.conninfo(dbname), "-c", sql], "psql %r" % sql)
        return [tuple(line.split("|")) for line in out.splitlines()]

    def databases(self):
        return [r[0] for r in self.psql("select datname from pg_database")]

    def create_database(self, name):
        """Creates database name unless it exists."""
        if self.psql("select 1 from pg_database where datname = %s" % literal(name)):
            return
        try:
            self.psql("create database %s" % ident(name))
        except PgError as e:
            if "already exists" not in str(e):  # made meanwhile by someone else
                raise

    def drop_database(self, name):
        """Drops database name if it exists, closing its connections."""
        self.psql("drop database if exists %s with (force)" % ident(name))


def shared():
    """The cluster named by ORDERD_PG_BASE, if set (started by the runner,
    left running on leaving the `with`); else a new throwaway one."""
    base = os.environ.get("ORDERD_PG_BASE")
    if base:
        return Postgres(conninfo=base)
    return Postgres()


def orderd_conninfo(data_dir):
    """For ORDERD_STORE=postgres: the conninfo orderd gets instead of
    --data data_dir, its database created on ORDERD_PG_BASE if missing."""
    base = os.environ.get("ORDERD_PG_BASE")
    if not base:
        raise PgError("ORDERD_STORE=postgres needs ORDERD_PG_BASE, the conninfo of a running "
                      "cluster (tests/integration/run starts one when STORE=postgres)")
    pg = Postgres(conninfo=base)
    name = orderd_database(data_dir)
    pg.create_database(name)
    return pg.conninfo(name)


def drop_orderd_database(data_dir):
    base = os.environ.get("ORDERD_PG_BASE")
    if base:
        Postgres(conninfo=base).drop_database(orderd_database(data_dir))


def main(argv):
    if len(argv) == 3 and argv[1] == "orderd-conninfo":
        print(orderd_conninfo(argv[2]))
    elif len(argv) == 3 and argv[1] == "drop-orderd-db":
        drop_orderd_database(argv[2])
    else:
        print("usage: pglib.py orderd-conninfo DATA_DIR | drop-orderd-db DATA_DIR",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except PgError as e:
        print("pglib: %s" % e, file=sys.stderr)
        sys.exit(1)
