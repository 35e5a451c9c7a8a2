"""A local SMTP sink: Debian's aiosmtpd (python3-aiosmtpd) on 127.0.0.1:PORT,
for the mail tests and for `make run`'s demo mailbox. Every message it
accepts goes to FOLDER/N.eml (the raw message, first written as N.tmp and
renamed, so a reader never sees half a file), its envelope to FOLDER/N.rcpt
and a readable copy to FOLDER/N.txt (the envelope, the decoded subject and
text body: chatdesk sends base64). Prints "ready" once it accepts
connections; stops on SIGTERM, or when stdin closes if stdin is a pipe.

    /usr/bin/python3 scripts/mailsink.py PORT FOLDER
"""
import email
import email.policy
import os
import signal
import stat
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
        try:
            msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
            part = msg.get_body(preferencelist=('plain',))
            text = part.get_content() if part else ''
            with open(base + '.txt', 'w', encoding='utf-8') as f:
                f.write('To: %s\nSubject: %s\n\n%s' % (', '.join(envelope.rcpt_tos),
                                                       msg['subject'], text))
        except Exception as e:  # the raw message is kept whatever happens here
            print('mailsink: %s: no readable copy: %s' % (base, e), file=sys.stderr)
        return '250 OK'


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    ctl = Controller(Sink(folder), hostname='127.0.0.1', port=port)
    ctl.start()
    print('ready', flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    if stat.S_ISFIFO(os.fstat(0).st_mode):
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    ctl.stop()


if __name__ == '__main__':
    main()
