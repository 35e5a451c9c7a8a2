"""A local SMTP sink for the mail tests: Debian's aiosmtpd (python3-aiosmtpd)
on 127.0.0.1:PORT, writing every message it accepts to FOLDER/N.eml (the
raw message, first written as N.tmp and renamed, so a reader never sees half
a file) with the envelope in FOLDER/N.rcpt. Prints "ready" once it accepts
connections; stops on SIGTERM or when stdin closes.

    /usr/bin/python3 tests/e2e/smtpsink.py PORT FOLDER
"""
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.n = len([f for f in os.listdir(folder) if f.endswith('.eml')])
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        base = os.path.join(self.folder, '%06d' % n)
        with open(base + '.rcpt', 'w') as f:
            f.write('\n'.join([envelope.mail_from] + list(envelope.rcpt_tos)) + '\n')
        with open(base + '.tmp', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + '.tmp', base + '.eml')
        return '250 OK'


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    ctl = Controller(Sink(folder), hostname='127.0.0.1', port=port)
    ctl.start()
    print('ready', flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    ctl.stop()


if __name__ == '__main__':
    main()
