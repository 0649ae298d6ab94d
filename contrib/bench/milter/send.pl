#!/usr/bin/perl
# send.pl - the milter benchmark's SMTP driver: sends COUNT mails from files
# over SESSIONS parallel sessions, one mail per connection (as smtp-source
# does without -d), and reports what the server answered and how long each
# transaction took.
#
#   send.pl --server HOST:PORT --count N [--sessions 20] --from ADDR
#           --to ADDR [--to ADDR]... [--reuse] [--times FILE] FILE...
#
# The files are sent in turn (mail i is FILE[i mod number of files]); a line
# "Message-ID: <@@ID@@>" in a file is replaced by a unique Message-ID.
# Bodies are sent as they are (Net::SMTP converts LF to CRLF and stuffs dots).
# --reuse keeps one connection per session for all its mails (RSET between).
#
# Prints one summary line:
#   sent=N ok=N tempfail=N permfail=N error=N elapsed=S p50_ms=X p99_ms=Y
# ok = 250 at the end of data; tempfail/permfail = 4xx/5xx at any step;
# error = connection trouble. --times FILE gets one line per mail:
# "CODE<TAB>SECONDS" (the time from connect, or MAIL with --reuse, to the
# reply to the end of data).
use strict;
use warnings;
use Getopt::Long;
use Net::SMTP;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use POSIX ();
use Time::HiRes qw(time);

my ($server, $count, $sessions, $from, @to, $reuse, $times_file) =
	('127.0.0.1:25', 100, 20, 'bench@example.org');
GetOptions(
	'server=s'   => \$server,
	'count=i'    => \$count,
	'sessions=i' => \$sessions,
	'from=s'     => \$from,
	'to=s'       => \@to,
	'reuse'      => \$reuse,
	'times=s'    => \$times_file,
) or die "usage: send.pl --server HOST:PORT --count N --to ADDR FILE...\n";
die "send.pl: no message files\n" unless @ARGV;
die "send.pl: no --to\n" unless @to;
my ($host, $port) = split /:/, $server;

my @bodies;
for my $f (@ARGV) {
	open my $fh, '<', $f or die "send.pl: $f: $!\n";
	local $/;
	push @bodies, scalar <$fh>;
	close $fh;
}

my $t0 = time;
my @kids;
for my $w (0 .. $sessions - 1) {
	pipe(my $r, my $wr) or die "pipe: $!";
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		close $r;
		worker($w, $wr);
		close $wr;
		POSIX::_exit(0);
	}
	close $wr;
	push @kids, [$pid, $r];
}

my (%n, @lat, @lines);
for my $k (@kids) {
	my $fh = $k->[1];
	while (my $line = <$fh>) {
		chomp $line;
		my ($kind, $code, $secs) = split /\t/, $line;
		$n{$kind}++;
		push @lat, $secs if $kind eq 'ok';
		push @lines, "$code\t$secs";
	}
	waitpid $k->[0], 0;
}
my $elapsed = time - $t0;

if (defined $times_file) {
	open my $out, '>', $times_file or die "send.pl: $times_file: $!\n";
	print $out "$_\n" for @lines;
	close $out;
}
@lat = sort { $a <=> $b } @lat;
sub pct { my $p = shift; return 0 unless @lat; $lat[int(($#lat) * $p + 0.5)] * 1000 }
printf "sent=%d ok=%d tempfail=%d permfail=%d error=%d elapsed=%.3f p50_ms=%.1f p99_ms=%.1f\n",
	scalar(@lines), $n{ok} // 0, $n{tempfail} // 0, $n{permfail} // 0,
	$n{error} // 0, $elapsed, pct(0.50), pct(0.99);

# Sends mails w, w+S, w+2S, ... and writes "KIND\tCODE\tSECONDS" lines.
sub worker {
	my ($w, $out) = @_;
	my $smtp;
	for (my $i = $w; $i < $count; $i += $sessions) {
		my $body = $bodies[$i % @bodies];
		my $id = sprintf '<bench.%d.%d.%d@example.org>', $$, $i, int($t0);
		$body =~ s/^Message-ID: <\@\@ID\@\@>$/Message-ID: $id/m;
		my $start = time;
		my ($kind, $code) = send_one(\$smtp, $body);
		printf $out "%s\t%s\t%.6f\n", $kind, $code, time - $start;
		if (!$reuse || $kind eq 'error') {
			$smtp->quit if $smtp && $kind ne 'error';
			undef $smtp;
		}
	}
	$smtp->quit if $smtp;
}

sub fail_kind {
	my $code = shift // '';
	return $code =~ /^4/ ? 'tempfail' : $code =~ /^5/ ? 'permfail' : 'error';
}

sub send_one {
	my ($sref, $body) = @_;
	if (!$$sref) {
		$$sref = Net::SMTP->new($host, Port => $port, Hello => 'bench.example.org',
			Timeout => 300);
		return ('error', 'connect') unless $$sref;
		# Without this, Nagle's algorithm and the server's delayed ACK
		# add 40 ms to every transaction (the end of data is a small
		# write after the body).
		$$sref->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
	} else {
		$$sref->reset;
	}
	my $s = $$sref;
	$s->mail($from) or return (fail_kind($s->code), $s->code);
	my $rcpt_ok = 0;
	for my $to (@to) {
		$rcpt_ok++ if $s->to($to);
	}
	return (fail_kind($s->code), $s->code) unless $rcpt_ok;
	$s->data or return (fail_kind($s->code), $s->code);
	$s->datasend($body);
	$s->dataend or return (fail_kind($s->code), $s->code);
	return ('ok', $s->code);
}
