// The machine's own timer latency: a thread scheduled as rtpcast's pacer is by default (a 0.1 ms
// fair-class slice, Linux 6.12+; the default elsewhere) sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)
// to a deadline every PERIOD_US for SECONDS, and prints how late it woke:
//   {"shortSlice":1,"wakeups":2000,"p50Ms":0.048,"p99Ms":1.037,"maxMs":23.9,"over1ms":20}
// No sending, no audio: what no pacer on this machine can do better than (a VM whose host
// deschedules it, a loaded box). Usage: timer-probe SECONDS PERIOD_US
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct slice_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: timer-probe SECONDS PERIOD_US\n");
    return 2;
  }
  double seconds = atof(argv[1]);
  int64_t period = (int64_t)atol(argv[2]) * 1000;
  if (seconds <= 0 || period <= 0) return 2;
  long n = (long)(seconds * 1e9 / (double)period);
  int64_t *late = malloc(sizeof(int64_t) * (size_t)n);
  if (!late) return 1;
  struct slice_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.runtime = 100000;  // 0.1 ms, as native/pacer asks
  int rt = syscall(SYS_sched_setattr, 0, &a, 0) == 0;
  long over = 0;
  int64_t due = now_ns() + period;
  for (long i = 0; i < n; i++) {
    struct timespec ts = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
    late[i] = now_ns() - due;
    if (late[i] > 1000000) over++;
    due += period;
  }
  qsort(late, (size_t)n, sizeof(int64_t), cmp);
  printf("{\"shortSlice\":%d,\"wakeups\":%ld,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"maxMs\":%.3f,\"over1ms\":%ld}\n", rt, n, late[n / 2] / 1e6, late[(n * 99) / 100] / 1e6, late[n - 1] / 1e6, over);
  return 0;
}
