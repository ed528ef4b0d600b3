/*
 * udp-flood: a UDP flood generator for the `rtpcast play` resource-limit test (issue #6).
 * Compiled at test time (gcc -O2 -pthread); see test/support/flood.ts.
 *
 *   udp-flood FROM TO PORT RATE SECONDS THREADS
 *
 * THREADS threads, each with its own socket bound to FROM, send to TO:PORT with sendmmsg()
 * (batches of 64) at RATE/THREADS datagrams a second each, paced by CLOCK_MONOTONIC: half
 * garbage (60 bytes, not RTP), half RTP (payload type 96, foreign SSRC, running sequence and
 * timestamp). Every 100 ms the main thread records how many datagrams the kernel accepted
 * (sendmmsg's return values), and at the end prints one JSON line:
 *   {"sent":N,"errors":E,"seconds":S,"windows":[sent in each 100 ms window...]}
 * errors: sendmmsg calls that failed (ENOBUFS, ECONNREFUSED from an ICMP error, ...).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static struct sockaddr_in from_addr, to_addr;
static double rate_per_thread, seconds;
static atomic_long total_sent, total_errors;
static atomic_int stop_all;
static struct timespec t0;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void *run(void *arg) {
  long id = (long)arg;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&from_addr, sizeof from_addr) < 0) {
    perror("udp-flood: socket/bind");
    exit(2);
  }
  int sndbuf = 4 << 20;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  static unsigned char garbage[60];
  memset(garbage, 0x55, sizeof garbage);
  unsigned char rtp[BATCH][72];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(rtp, 0, sizeof rtp);
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    rtp[i][0] = 0x80;
    rtp[i][1] = 96;
    unsigned ssrc = 0xbad00000u + (unsigned)id;
    rtp[i][8] = ssrc >> 24; rtp[i][9] = ssrc >> 16; rtp[i][10] = ssrc >> 8; rtp[i][11] = ssrc;
    msgs[i].msg_hdr.msg_name = &to_addr;
    msgs[i].msg_hdr.msg_namelen = sizeof to_addr;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0;
  unsigned seq = 0;
  while (!atomic_load(&stop_all)) {
    double el = now_s();
    if (el >= seconds) break;
    long due = (long)(el * rate_per_thread);
    if (sent >= due) {
      struct timespec ns = {0, 200000}; /* 0.2 ms */
      nanosleep(&ns, NULL);
      continue;
    }
    int n = due - sent > BATCH ? BATCH : (int)(due - sent);
    for (int i = 0; i < n; i++) {
      if ((sent + i) & 1) {
        seq++;
        rtp[i][2] = seq >> 8; rtp[i][3] = seq;
        unsigned ts = seq * 960u;
        rtp[i][4] = ts >> 24; rtp[i][5] = ts >> 16; rtp[i][6] = ts >> 8; rtp[i][7] = ts;
        iov[i].iov_base = rtp[i];
        iov[i].iov_len = sizeof rtp[i];
      } else {
        iov[i].iov_base = garbage;
        iov[i].iov_len = sizeof garbage;
      }
    }
    int r = sendmmsg(s, msgs, n, 0);
    if (r < 0) {
      atomic_fetch_add(&total_errors, 1);
      sent += n; /* keep the pace: what failed is not retried */
      continue;
    }
    sent += r;
    atomic_fetch_add(&total_sent, r);
    if (r < n) sent += 0; /* the rest of a partial batch is sent next round */
  }
  close(s);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: udp-flood FROM TO PORT RATE SECONDS THREADS\n");
    return 2;
  }
  int threads = atoi(argv[6]);
  if (threads < 1 || threads > 16) return 2;
  memset(&from_addr, 0, sizeof from_addr);
  from_addr.sin_family = AF_INET;
  to_addr = from_addr;
  if (inet_pton(AF_INET, argv[1], &from_addr.sin_addr) != 1 || inet_pton(AF_INET, argv[2], &to_addr.sin_addr) != 1) {
    fprintf(stderr, "udp-flood: bad address\n");
    return 2;
  }
  to_addr.sin_port = htons(atoi(argv[3]));
  rate_per_thread = atof(argv[4]) / threads;
  seconds = atof(argv[5]);
  int nwin = (int)(seconds * 10) + 2;
  long *win = calloc(nwin, sizeof(long));
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t th[16];
  for (long i = 0; i < threads; i++) pthread_create(&th[i], NULL, run, (void *)i);
  long last = 0;
  int w = 0;
  for (; w < nwin; w++) {
    struct timespec until = t0;
    until.tv_sec += (w + 1) / 10;
    until.tv_nsec += ((w + 1) % 10) * 100000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    long cur = atomic_load(&total_sent);
    win[w] = cur - last;
    last = cur;
    if ((w + 1) / 10.0 >= seconds) { w++; break; }
  }
  atomic_store(&stop_all, 1);
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  double el = now_s();
  printf("{\"sent\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"windows\":[", atomic_load(&total_sent), atomic_load(&total_errors), el);
  for (int i = 0; i < w; i++) printf("%s%ld", i ? "," : "", win[i]);
  printf("]}\n");
  return 0;
}
