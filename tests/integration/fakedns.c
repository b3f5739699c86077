/*
 * fakedns.c - a tiny authoritative DNS server for the dns-01 tests.
 *
 *   fakedns -p PORT -f RECORDS_FILE [-a 127.0.0.1]
 *
 * Listens on UDP and TCP at ADDR:PORT (PORT 0: the kernel picks one; it is
 * printed as "port N").  RECORDS_FILE holds lines "NAME TXT VALUE" and
 * "NAME A 1.2.3.4" and is read again for every query, so a test can change
 * it while the server runs.  A TXT VALUE is either bare text (one record,
 * split into 255-octet character-strings) or a list of "quoted" strings.
 * Unknown names are NXDOMAIN, opcodes other than QUERY are REFUSED.  A
 * line "NAME DROP" makes the server never answer a question for NAME (a
 * resolver that does not respond), over UDP and TCP.
 * Questions must not use compression pointers (FORMERR otherwise).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_UDP     512   /* largest UDP query accepted, and reply without EDNS */
#define MAX_EDNS    4096  /* largest UDP reply even when EDNS offers more */
#define MAX_MSG     65535 /* largest TCP message */
#define T_A         1
#define T_TXT       16
#define T_OPT       41
#define RC_FORMERR  1
#define RC_NXDOMAIN 3
#define RC_REFUSED  5
#define GET16(p)    ((unsigned)(p)[0] << 8 | (p)[1])
#define PUT16(p, v) ((p)[0] = (unsigned char)((v) >> 8), (p)[1] = (unsigned char)(v))

static volatile sig_atomic_t stop;
static const char *records;

/* A parsed question: where it ends, its name in text form, type, EDNS size. */
struct query {
	size_t end; /* offset just past QTYPE/QCLASS */
	char name[256];
	int printable; /* name has only characters a records file can spell */
	unsigned qtype;
	size_t udp_limit;
	int edns;
};

/* SIGTERM/SIGINT: leave the main loop. */
static void
on_signal(int sig)
{
	stop = 1;
}

/*
 * Parse the header and the single question of `m` (n octets).  Returns -1
 * to drop the packet, 0 when fine, else the RCODE to answer with.
 */
static int
parse_query(const unsigned char *m, size_t n, struct query *q)
{
	size_t pos = 12, o = 0, llen;
	unsigned char c;

	memset(q, 0, sizeof(*q));
	q->udp_limit = MAX_UDP;
	q->printable = 1;
	if (n < 12 || (m[2] & 0x80) != 0)
		return -1; /* too short, or a response */
	if ((m[2] >> 3 & 0x0f) != 0)
		return RC_REFUSED;
	if (GET16(m + 4) != 1 || GET16(m + 6) != 0 || GET16(m + 8) != 0)
		return RC_FORMERR;
	for (;;) {
		if (pos >= n)
			return RC_FORMERR;
		llen = m[pos++];
		if (llen == 0)
			break;
		if ((llen & 0xc0) != 0 || llen > n - pos || o + llen + 2 > sizeof(q->name))
			return RC_FORMERR; /* pointers (and so loops) are not followed */
		if (o > 0)
			q->name[o++] = '.';
		for (; llen > 0; llen--) {
			c = m[pos++];
			if (c <= 0x20 || c >= 0x7f || c == '.')
				q->printable = 0;
			q->name[o++] = (char)c;
		}
	}
	q->name[o] = '\0';
	if (n - pos < 4)
		return RC_FORMERR;
	q->qtype = GET16(m + pos);
	q->end = pos + 4;
	/* One OPT record (root name, type 41) in the additional section: EDNS. */
	if (GET16(m + 10) == 1 && n - q->end >= 11 && m[q->end] == 0 &&
	    GET16(m + q->end + 1) == T_OPT) {
		q->edns = 1;
		q->udp_limit = GET16(m + q->end + 3);
		if (q->udp_limit < MAX_UDP)
			q->udp_limit = MAX_UDP;
		if (q->udp_limit > MAX_EDNS)
			q->udp_limit = MAX_EDNS;
	}
	return 0;
}

/* A records-file name equals the question's name: any case, trailing dot optional. */
static int
name_eq(const char *file, const char *qname)
{
	size_t len = strlen(file);

	if (len > 0 && file[len - 1] == '.')
		len--;
	return len == strlen(qname) && strncasecmp(file, qname, len) == 0;
}

/* TXT text into RDATA: "a" "b" as two strings, bare text in 255-octet pieces. */
static size_t
txt_rdata(const char *v, unsigned char *rd, size_t cap)
{
	size_t o = 0, n;
	const char *e;

	if (*v != '"') {
		n = strlen(v);
		do {
			size_t piece = n > 255 ? 255 : n;

			if (o + 1 + piece > cap)
				return 0;
			rd[o++] = (unsigned char)piece;
			memcpy(rd + o, v, piece);
			o += piece;
			v += piece;
			n -= piece;
		} while (n > 0);
		return o;
	}
	while (*v == '"') {
		e = strchr(v + 1, '"');
		if (e == NULL)
			e = v + strlen(v);
		n = (size_t)(e - v - 1);
		if (n > 255 || o + 1 + n > cap)
			return 0;
		rd[o++] = (unsigned char)n;
		memcpy(rd + o, v + 1, n);
		o += n;
		v = *e == '"' ? e + 1 : e;
		v += strspn(v, " \t");
	}
	return o;
}

/* Append an answer record (owner: a pointer to the question name). */
static int
add_rr(unsigned char *out, size_t cap, size_t *len, unsigned type, const unsigned char *rd,
       size_t rdlen)
{
	unsigned char *p = out + *len;

	if (rdlen > 65535 || cap - *len < 12 + rdlen)
		return 0;
	PUT16(p, 0xc00c);
	PUT16(p + 2, type);
	PUT16(p + 4, 1);     /* class IN */
	memset(p + 6, 0, 4); /* TTL 0: tests change records at will */
	PUT16(p + 10, (unsigned)rdlen);
	memcpy(p + 12, rd, rdlen);
	*len += 12 + rdlen;
	return 1;
}

/*
 * Answer the records of the question from the records file into `out`;
 * sets *known when any line names it, *drop when a DROP line does.  Returns
 * the number of answers, or -1 when they do not fit.
 */
static int
add_answers(const struct query *q, unsigned char *out, size_t cap, size_t *len, int *known,
            int *drop)
{
	static unsigned char rd[MAX_MSG];
	char line[2048], *name, *type, *value, *save = NULL;
	size_t rdlen, vlen;
	FILE *f;
	int n = 0, ok = 1;

	*known = 0;
	*drop = 0;
	if (!q->printable || (f = fopen(records, "r")) == NULL)
		return 0;
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		name = strtok_r(line, " \t\r\n", &save);
		type = strtok_r(NULL, " \t\r\n", &save);
		if (name == NULL || type == NULL || name[0] == '#' || !name_eq(name, q->name))
			continue;
		value = save + strspn(save, " \t");
		vlen = strlen(value);
		while (vlen > 0 && strchr(" \t\r\n", value[vlen - 1]) != NULL)
			value[--vlen] = '\0';
		*known = 1;
		if (strcasecmp(type, "DROP") == 0) {
			*drop = 1;
			continue;
		}
		if (strcasecmp(type, "TXT") == 0 && q->qtype == T_TXT)
			rdlen = txt_rdata(value, rd, sizeof(rd));
		else if (strcasecmp(type, "A") == 0 && q->qtype == T_A)
			rdlen = inet_pton(AF_INET, value, rd) == 1 ? 4 : 0;
		else
			continue;
		if (rdlen == 0)
			continue; /* unusable line: ignored */
		ok = add_rr(out, cap, len, q->qtype, rd, rdlen);
		n++;
	}
	fclose(f);
	return ok ? n : -1;
}

/* The reply to query `m` (n octets) in `out` (cap octets); 0 to stay silent. */
static size_t
reply(const unsigned char *m, size_t n, unsigned char *out, size_t cap, int udp)
{
	static const unsigned char opt[11] = {0, 0, T_OPT, MAX_EDNS >> 8, MAX_EDNS & 0xff};
	struct query q;
	size_t len, limit;
	int rcode, known = 0, count = 0, drop = 0;

	rcode = parse_query(m, n, &q);
	if (rcode < 0)
		return 0;
	limit = udp ? q.udp_limit : cap;
	memset(out, 0, 12);
	memcpy(out, m, 2);                                     /* ID */
	out[2] = (unsigned char)(0x80 | (m[2] & 0x79) | 0x04); /* QR, opcode, AA, RD */
	if (rcode != 0) {
		out[3] = (unsigned char)rcode;
		return 12;
	}
	PUT16(out + 4, 1);
	memcpy(out + 12, m + 12, q.end - 12);
	len = q.end;
	count = add_answers(&q, out, cap - sizeof(opt), &len, &known, &drop);
	if (drop)
		return 0; /* never answer this name */
	if (!known)
		out[3] = RC_NXDOMAIN;
	if (count < 0 || len + (q.edns ? sizeof(opt) : 0) > limit) {
		out[2] |= 0x02; /* TC: ask for TCP */
		count = 0;
		len = q.end;
	}
	PUT16(out + 6, (unsigned)count);
	if (q.edns) {
		memcpy(out + len, opt, sizeof(opt));
		len += sizeof(opt);
		PUT16(out + 10, 1);
	}
	return len;
}

/* Read exactly n octets (the socket has a receive timeout); 0 on EOF or error. */
static int
read_full(int fd, unsigned char *buf, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, buf, n);
		if (r <= 0)
			return 0;
		buf += r;
		n -= (size_t)r;
	}
	return 1;
}

/* One TCP client: length-prefixed queries until EOF, a timeout, or garbage. */
static void
serve_tcp(int fd)
{
	static unsigned char in[MAX_MSG], out[MAX_MSG + 2];
	struct timeval tv = {2, 0};
	unsigned char hdr[2];
	size_t n, len;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (!stop && read_full(fd, hdr, 2)) {
		n = GET16(hdr);
		if (n < 12 || !read_full(fd, in, n))
			break;
		len = reply(in, n, out + 2, MAX_MSG, 0);
		if (len == 0)
			break;
		PUT16(out, (unsigned)len);
		if (send(fd, out, len + 2, MSG_NOSIGNAL) != (ssize_t)(len + 2))
			break;
	}
	close(fd);
}

/* Bind UDP and TCP sockets to addr:port (the same port for both when port is 0). */
static int
open_sockets(const char *addr, unsigned port, int *udp, int *tcp)
{
	struct sockaddr_in sin;
	socklen_t slen;
	int attempt, one = 1;

	for (attempt = 0; attempt < 20; attempt++) {
		slen = sizeof(sin);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
			return 0;
		*udp = socket(AF_INET, SOCK_DGRAM, 0);
		*tcp = socket(AF_INET, SOCK_STREAM, 0);
		if (*udp < 0 || *tcp < 0 || bind(*udp, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
		    getsockname(*udp, (struct sockaddr *)&sin, &slen) != 0)
			return 0;
		setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(*tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(*tcp, 16) == 0)
			return ntohs(sin.sin_port);
		close(*udp);
		close(*tcp);
		if (port != 0)
			return 0;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static unsigned char in[MAX_UDP + 1], out[MAX_MSG];
	const char *addr = "127.0.0.1";
	struct sigaction sa;
	struct sockaddr_storage from;
	struct pollfd pfd[2];
	socklen_t flen;
	unsigned long port = 0;
	ssize_t n;
	size_t len;
	int opt, udp = -1, tcp = -1, bound, fd;

	while ((opt = getopt(argc, argv, "p:f:a:")) != -1) {
		if (opt == 'p')
			port = strtoul(optarg, NULL, 10);
		else if (opt == 'f')
			records = optarg;
		else if (opt == 'a')
			addr = optarg;
		else
			break;
	}
	if (opt != -1 || records == NULL || port > 65535 || optind != argc) {
		fprintf(stderr, "usage: fakedns -p PORT -f RECORDS_FILE [-a 127.0.0.1]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	bound = open_sockets(addr, (unsigned)port, &udp, &tcp);
	if (bound == 0) {
		fprintf(stderr, "fakedns: cannot listen on %s:%lu: %s\n", addr, port,
		        strerror(errno));
		return 1;
	}
	printf("port %d\n", bound);
	fflush(stdout);
	pfd[0].fd = udp;
	pfd[1].fd = tcp;
	pfd[0].events = pfd[1].events = POLLIN;
	while (!stop) {
		if (poll(pfd, 2, 200) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			flen = sizeof(from);
			n = recvfrom(udp, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
			if (n > 0 && n <= MAX_UDP) {
				len = reply(in, (size_t)n, out, sizeof(out), 1);
				if (len > 0)
					sendto(udp, out, len, 0, (struct sockaddr *)&from, flen);
			}
		}
		if ((pfd[1].revents & POLLIN) && (fd = accept(tcp, NULL, NULL)) >= 0)
			serve_tcp(fd);
	}
	close(udp);
	close(tcp);
	return 0;
}
