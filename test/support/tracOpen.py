#!/usr/bin/python3
"""Opens a Trac environment and serves one request that writes, as Trac 1.6 does it.

Trac is not installable on the machines the tests run on, so this does, with the same Python
modules, what Trac 1.6 does to the files of an environment when it opens one and then serves a
request that creates a ticket with an attachment:

- trac.env.Environment: reads VERSION (its first line must start with "Trac Environment
  Version") and conf/trac.ini (configparser);
- trac.log.logger_handler_factory with [logging] log_type = file: opens <log_dir>/<log_file>
  with logging.FileHandler (append mode) and logs to it;
- trac.db.sqlite_backend.SQLiteConnection: refuses a database file, or a folder holding it,
  that the user cannot both read and write, then connects with Python's sqlite3;
- trac.env.Environment.database_version: reads system.database_version;
- a new ticket (INSERT, COMMIT) and its attachment: the file written under
  files/attachments/ticket/<sha1(id)[:3]>/<sha1(id)>/<sha1(name)><ext>, the row inserted.

Usage: tracOpen.py <environment>. Prints one JSON object and exits 0 when everything worked;
prints "tracOpen: <what failed>: <error>" on stderr and exits 1 otherwise.
"""

import configparser
import hashlib
import json
import logging
import os
import sqlite3
import sys
import time

VERSION_PREFIX = 'Trac Environment Version'


def fail(what, error):
    sys.stderr.write('tracOpen: %s: %s\n' % (what, error))
    sys.exit(1)


def database_file(env, url):
    """trac.db.api.parse_connection_uri for sqlite: URLs, relative to the environment."""
    if not url.startswith('sqlite:'):
        fail('[trac] database', 'not an SQLite database: %s' % url)
    location = url[len('sqlite:'):].split('?', 1)[0]
    if location.startswith('///'):
        location = location[2:]
    return os.path.normpath(os.path.join(env, location))


def open_log(env, config):
    if config.get('logging', 'log_type', fallback='none') != 'file':
        return None
    log_dir = os.path.join(env, config.get('logging', 'log_dir', fallback='log') or 'log')
    log_file = os.path.join(log_dir, config.get('logging', 'log_file', fallback='trac.log') or 'trac.log')
    logger = logging.getLogger('Trac.%s' % env)
    logger.setLevel(logging.INFO)
    try:
        handler = logging.FileHandler(log_file)
    except OSError as error:
        fail('opening the log %s' % log_file, error)
    logger.addHandler(handler)
    return logger, handler, log_file


def connect(file):
    if not os.access(file, os.F_OK):
        fail('the database', 'Database "%s" not found.' % file)
    folder = os.path.dirname(file)
    if not os.access(file, os.R_OK + os.W_OK) or not os.access(folder, os.R_OK + os.W_OK):
        fail('the database', 'The user %s requires read _and_ write permissions to the database file %s '
             'and the directory it is located in.' % (os.getuid(), file))
    return sqlite3.connect(file, timeout=10)


def main(env):
    env = os.path.abspath(env)
    try:
        with open(os.path.join(env, 'VERSION'), encoding='utf-8') as version:
            first = version.readline()
    except OSError as error:
        fail('reading VERSION', error)
    if not first.startswith(VERSION_PREFIX):
        fail('VERSION', 'not a Trac environment: %r' % first)
    config = configparser.ConfigParser(interpolation=None)
    try:
        with open(os.path.join(env, 'conf', 'trac.ini'), encoding='utf-8') as ini:
            config.read_file(ini)
    except (OSError, configparser.Error) as error:
        fail('reading conf/trac.ini', error)

    log = open_log(env, config)
    if log:
        log[0].info('Trac environment %s opened', env)

    db_file = database_file(env, config.get('trac', 'database', fallback='sqlite:db/trac.db'))
    db = connect(db_file)
    try:
        row = db.execute("SELECT value FROM system WHERE name='database_version'").fetchone()
        if not row:
            fail('the database', 'no system.database_version')
        now = int(time.time() * 1000000)
        ticket = db.execute(
            "INSERT INTO ticket (type, time, changetime, component, priority, reporter, status, summary, description) "
            "VALUES ('defect', ?, ?, 'component1', 'major', 'drill', 'new', 'restore drill', 'written by tracOpen.py')",
            (now, now),
        ).lastrowid
        db.commit()
        name = 'drill.txt'
        parent = hashlib.sha1(str(ticket).encode('utf-8')).hexdigest()
        relative = os.path.join('files', 'attachments', 'ticket', parent[:3], parent,
                                hashlib.sha1(name.encode('utf-8')).hexdigest() + '.txt')
        target = os.path.join(env, relative)
        content = b'attached by the restore drill\n'
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'wb') as attachment:
                attachment.write(content)
        except OSError as error:
            fail('writing the attachment %s' % relative, error)
        db.execute(
            "INSERT INTO attachment (type, id, filename, size, time, description, author) "
            "VALUES ('ticket', ?, ?, ?, ?, '', 'drill')",
            (str(ticket), name, len(content), now),
        )
        db.commit()
    except sqlite3.Error as error:
        fail('writing the database %s' % db_file, error)
    finally:
        db.close()
    if log:
        log[0].info('ticket %s created', ticket)
        log[1].close()
    print(json.dumps({
        'environment': env,
        'databaseVersion': row[0],
        'database': db_file,
        'ticket': ticket,
        'attachment': relative,
        'log': log[2] if log else None,
        'uid': os.getuid(),
    }))


if __name__ == '__main__':
    if len(sys.argv) != 2:
        fail('usage', 'tracOpen.py <environment>')
    main(sys.argv[1])
