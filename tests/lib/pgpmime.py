#!/usr/bin/env python3
"""pgpmime.py - test helper: the parts of a captured PGP/MIME notice.

  pgpmime.py subject FILE          the decoded Subject
  pgpmime.py signed FILE DATA SIG  a multipart/signed message's signed part
                                   (CRLF line ends, as signed) and signature
"""
import email
import email.header
import re
import sys


def subject(path):
    msg = email.message_from_binary_file(open(path, 'rb'))
    parts = email.header.decode_header(msg['Subject'])
    print(''.join(t.decode(c or 'ascii') if isinstance(t, bytes) else t
                  for t, c in parts))


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


if __name__ == '__main__':
    if sys.argv[1] == 'subject':
        subject(sys.argv[2])
    else:
        signed(sys.argv[2], sys.argv[3], sys.argv[4])
