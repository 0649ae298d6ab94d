#!/usr/bin/env python3
"""driver.py - sends prepared mails over SMTP the way a patient client does.

Usage: driver.py HOST:PORT PLAN RESULTS [THREADS]
(STRESS_TRIES in the environment: how often a mail is tried, 200 by default)

PLAN has one mail a line: FILE<TAB>ENVELOPE-FROM<TAB>RECIPIENT (an empty
ENVELOPE-FROM is the null sender). Each mail is sent on its own
connection; a 4xx answer or a lost connection before the answer to DATA
is tried again (with short pauses), so that every mail ends accepted
(2xx) or refused (5xx). RESULTS gets one line a mail:
MESSAGE-ID<TAB>CODE<TAB>TRIES<TAB>FILE. A lost connection counts as
not accepted and is retried: had the server taken the mail after all,
the checks would see a duplicate, never a loss.
"""
import os
import smtplib
import sys
import threading
import time


MAX_TRIES = int(os.environ.get("STRESS_TRIES", "200"))


def message_id(path):
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                break
            if line.lower().startswith(b"message-id:"):
                return line.split(b":", 1)[1].strip().decode()
    return "-"


def send_one(host, port, path, sender, rcpt):
    with open(path, "rb") as f:
        data = f.read()
    tries = 0
    while True:
        tries += 1
        try:
            with smtplib.SMTP(host, port, timeout=120) as s:
                s.ehlo("stress.example")
                s.sendmail(sender, [rcpt], data)
                return 250, tries
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
        except smtplib.SMTPResponseException as e:
            code = e.smtp_code
        except (smtplib.SMTPServerDisconnected, ConnectionError, OSError):
            code = 421
        if code >= 500 or tries >= MAX_TRIES:
            return code, tries
        time.sleep(0.05 * min(tries, 10))


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    plan = [line.rstrip("\n").split("\t") for line in open(sys.argv[2]) if line.strip()]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    results = [None] * len(plan)
    lock = threading.Lock()
    next_index = [0]

    def worker():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(plan):
                return
            path, sender, rcpt = plan[i]
            code, tries = send_one(host, int(port), path, sender, rcpt)
            results[i] = (message_id(path), code, tries, path)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    with open(sys.argv[3], "w") as out:
        for r in results:
            out.write("%s\t%d\t%d\t%s\n" % r)


if __name__ == "__main__":
    main()
