#!/usr/bin/env python3
"""pgpmime.py - test helper: the parts of a captured PGP/MIME notice.

  pgpmime.py subject FILE          the decoded Subject (RFC 2047, with the
                                   blanks between words as the sender meant)
  pgpmime.py header FILE NAME      a header's raw value, unfolded
  pgpmime.py signed FILE DATA SIG  a multipart/signed message's signed part
                                   (CRLF line ends, as signed) and signature
  pgpmime.py text FILE             the first inline text/plain part, decoded
                                   from its charset, LF line ends
  pgpmime.py texts FILE            every text/plain part, attachments too,
                                   decoded, LF line ends
  pgpmime.py parts FILE            each leaf part on a line: type, charset,
                                   disposition, decoded file name
"""
import email
import email.header
import email.policy
import email.utils
import re
import sys


def decoded(value):
    parts = email.header.decode_header(value)
    return ''.join(t.decode(c or 'ascii') if isinstance(t, bytes) else t
                   for t, c in parts)


def subject(path):
    msg = email.message_from_binary_file(open(path, 'rb'), policy=email.policy.default)
    print(str(msg['Subject']))


def header(path, name):
    msg = email.message_from_binary_file(open(path, 'rb'))
    print(re.sub(r'\r?\n[ \t]', ' ', msg.get(name, '')))


def signed(path, data_out, sig_out):
    raw = open(path, 'rb').read()
    msg = email.message_from_bytes(raw)
    if msg.get_content_type() != 'multipart/signed':
        sys.exit('not multipart/signed')
    b = msg.get_param('boundary').encode()
    body = raw.split(b'\n\n', 1)[1]
    pieces = re.split(b'(?:^|\n)--' + re.escape(b) + b'(?:--)?[ \t]*\n', body)
    data, sig = pieces[1], pieces[2]
    open(data_out, 'wb').write(data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n'))
    open(sig_out, 'wb').write(sig.split(b'\n\n', 1)[1])


def leaves(path):
    raw = open(path, 'rb').read().replace(b'\r\n', b'\n')
    return [p for p in email.message_from_bytes(raw).walk() if not p.is_multipart()]


def text(path):
    for p in leaves(path):
        if p.get_content_type() == 'text/plain' and \
                p.get_content_disposition() != 'attachment':
            body = p.get_payload(decode=True).decode(p.get_content_charset() or 'us-ascii')
            sys.stdout.write(body.replace('\r\n', '\n'))
            return
    sys.exit('no text part')


def texts(path):
    for p in leaves(path):
        if p.get_content_type() == 'text/plain':
            body = p.get_payload(decode=True).decode(p.get_content_charset() or 'us-ascii')
            sys.stdout.write(body.replace('\r\n', '\n') + '\n')


def parts(path):
    for p in leaves(path):
        name = p.get_param('filename', header='content-disposition')
        name = decoded(email.utils.collapse_rfc2231_value(name)) if name else '-'
        print(p.get_content_type(), (p.get_content_charset() or '-').lower(),
              p.get_content_disposition() or 'inline', name)


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'subject':
        subject(sys.argv[2])
    elif cmd == 'signed':
        signed(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == 'header':
        header(sys.argv[2], sys.argv[3])
    elif cmd == 'text':
        text(sys.argv[2])
    elif cmd == 'texts':
        texts(sys.argv[2])
    elif cmd == 'parts':
        parts(sys.argv[2])
    else:
        sys.exit('usage: pgpmime.py subject|header|signed|text|texts|parts FILE ...')
