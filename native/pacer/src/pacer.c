// rtpcast's optional native pacer (Linux): a thread that sleeps with clock_nanosleep(CLOCK_MONOTONIC,
// TIMER_ABSTIME) to each queued packet's due time and sends it on already-connected UDP sockets.
//
// JavaScript builds packets ahead of time (a batch every few tens of ms) and pushes them with their
// due times, in CLOCK_MONOTONIC nanoseconds (process.hrtime.bigint() on Linux). The thread never
// calls into JavaScript: JavaScript polls the counters, the departure-lateness histogram and the
// send errors when it wakes for the next batch.
//
// For a 16-bit WAV sent as L16, JavaScript can push a whole "file run" instead of packets: the
// thread reads each packet's samples from the file itself (pread, ahead of the due time), takes
// their peaks, swaps them to network order, writes the RTP header and sends. JavaScript then wakes
// about twice a second, not once per packet built.
//
// Sockets are given as groups of file descriptors (group 0: RTP, one per destination; group 1:
// RTCP). A packet goes to every descriptor of its group. The descriptors belong to Node's dgram
// sockets: this thread only sends on them; Node keeps receiving (ICMP errors) and closing them, so
// the pacer must be closed (thread joined) before the sockets are.

#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_GROUPS 2
#define MAX_FDS 64
#define MAX_ERRORS 64
// the level meter keeps a peak for this many channels (L16 streams have at most 8 here)
#define MAX_CHANNELS 64
// an RTP packet read by the thread: header + payload fit a UDP datagram
#define MAX_PACKET 65536
// a run's samples are read this many bytes at a time (at least one whole packet)
#define READ_AHEAD 65536
// lateness histogram: 10 us buckets up to 10 ms, then one overflow bucket
#define HIST_STEP_NS 10000
#define HIST_BUCKETS 1001

typedef struct entry {
  int64_t due;
  int group;
  size_t len;
  // capacity of data: entries are recycled (a free list), so a steady stream allocates nothing
  size_t cap;
  unsigned char *data;
  struct entry *next;
  // a file run (is_run): `count` L16 packets of `payload` bytes read from fd at offset, offset +
  // payload, ...; packet k is due at due (the schedule's anchor) + floor((first + k) * frame * 1e9 /
  // rate) ns, exactly as PacketSchedule.dueNs computes it; it carries the header `hdr` with
  // sequence + k, timestamp + k * ticks, the marker bit on packet 0 only. Bytes past `end` are
  // silence (the last packet of a file is padded).
  int is_run;
  int fd;
  int channels;
  uint32_t count, done, payload, frame, rate, ticks;
  uint64_t first;
  // runs of one file in a row share a generation: the read-ahead carries over from one to the next
  uint64_t file_gen;
  int64_t offset, end;
  double silence;
  unsigned char hdr[12];
} entry;

// a packet buffer is at least this big, so that a recycled entry fits any packet that fits an MTU
#define MIN_CAP 1500
// entries kept for reuse beyond this many are freed
#define MAX_SPARE 1024

typedef struct {
  int group;
  int index;
  int err;
} send_error;

typedef struct {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int started;
  int stopping;
  int closed;
  int fds[MAX_GROUPS][MAX_FDS];
  int nfds[MAX_GROUPS];
  entry *head, *tail;
  uint32_t queued;
  entry *spare;
  uint32_t nspare;
  // counters, cumulative
  double sent[MAX_GROUPS];
  double dropped;
  double late_over_1ms;
  int64_t late_max;
  double late_sum_ns;
  uint32_t hist[HIST_BUCKETS];
  send_error errors[MAX_ERRORS];
  int nerrors;
  double errors_lost;
  int sched;
  int try_rt;
  // file runs: the packet being prepared (read ahead of its due time) and what it belongs to;
  // `drops` changes whenever the queue is dropped, so a packet read for a dropped run is not sent
  unsigned char pkt[MAX_PACKET];
  entry *pkt_entry;
  uint32_t pkt_index;
  uint64_t pkt_drops;
  int pkt_peak;
  uint64_t drops;
  // read-ahead of a run's file (thread-owned): one pread per READ_AHEAD bytes, not one per packet;
  // valid for runs of that file generation until the queue is dropped
  unsigned char ra[READ_AHEAD];
  uint64_t ra_gen;
  uint64_t ra_drops;
  // pushRun: the file of the last run queued, and its generation (0: none yet)
  int last_run_fd;
  uint64_t file_gen;
  int64_t ra_off;
  int64_t ra_len;
  // level meter (since the last poll), silent packets in a row, read errors
  int peak[MAX_CHANNELS];
  double silent_run;
  double read_errors;
  int read_errno;
} pacer;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t due) {
  struct timespec ts = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void record_error(pacer *p, int group, int index, int err) {
  if (p->nerrors < MAX_ERRORS) {
    p->errors[p->nerrors].group = group;
    p->errors[p->nerrors].index = index;
    p->errors[p->nerrors].err = err;
    p->nerrors++;
  } else {
    p->errors_lost++;
  }
}

// Keeps a sent or dropped entry for the next push (called with the lock held).
static void recycle(pacer *p, entry *e) {
  if (p->nspare >= MAX_SPARE) {
    free(e->data);
    free(e);
    return;
  }
  e->next = p->spare;
  p->spare = e;
  p->nspare++;
}

static void free_spares(pacer *p) {
  while (p->spare) {
    entry *e = p->spare;
    p->spare = e->next;
    free(e->data);
    free(e);
  }
  p->nspare = 0;
}

// Sends one packet to every descriptor of a group; called with the lock held (pushes wait a few us).
static void send_bytes(pacer *p, int group, const unsigned char *data, size_t len) {
  for (int i = 0; i < p->nfds[group]; i++) {
    int fd = p->fds[group][i];
    for (int attempt = 0; attempt < 2; attempt++) {
      ssize_t r = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r >= 0) break;
      if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && attempt == 0) {
        // socket buffer full: wait up to 5 ms for room, once
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        poll(&pf, 1, 5);
        continue;
      }
      if (errno == EINTR && attempt == 0) continue;
      record_error(p, group, i, errno);
      break;
    }
  }
}

// Packet k of a run is due at anchor + floor((first + k) * frame * 1e9 / rate) ns, in exact integer
// arithmetic (whole seconds apart from the rest: no overflow before 2^64 samples).
static int64_t run_due(const entry *e, uint32_t k) {
  uint64_t samples = (e->first + k) * (uint64_t)e->frame;
  return e->due + (int64_t)(samples / e->rate) * 1000000000LL + (int64_t)((samples % e->rate) * 1000000000ULL / e->rate);
}

// Reads packet `k` of run `e` into p->pkt (payload only) and takes its per-channel peaks, the
// samples still little-endian as in the file. Called WITHOUT the lock (a slow disk must not hold
// up pushes and polls); `e`'s fields are copied by the caller under the lock.
typedef struct {
  uint64_t gen;
  uint64_t drops;
  int fd;
  int channels;
  uint32_t payload;
  int64_t at, end;
} run_read;

// Copies the payload at r->at (up to r->end; the rest is silence) into p->pkt + 12 from the
// read-ahead buffer, refilling it with one pread of up to READ_AHEAD bytes when it does not hold
// them. Returns the bytes that came from the file; *read_err is the errno of a failed read.
static int64_t fill_payload(pacer *p, const run_read *r, int *read_err) {
  unsigned char *out = p->pkt + 12;
  int64_t want = r->payload;
  if (r->at + want > r->end) want = r->end > r->at ? r->end - r->at : 0;
  *read_err = 0;
  int cached = p->ra_gen == r->gen && p->ra_drops == r->drops && r->at >= p->ra_off && r->at + want <= p->ra_off + p->ra_len;
  if (!cached && want > 0) {
    int64_t chunk = r->end - r->at;
    if (chunk > READ_AHEAD) chunk = READ_AHEAD;
    int64_t got = 0;
    while (got < chunk) {
      ssize_t n = pread(r->fd, p->ra + got, (size_t)(chunk - got), r->at + got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) *read_err = errno;
      if (n <= 0) break;  // an error, or the file shrank under us: silence from here
      got += n;
    }
    p->ra_gen = r->gen;
    p->ra_drops = r->drops;
    p->ra_off = r->at;
    p->ra_len = got;
  }
  int64_t have = p->ra_off + p->ra_len - r->at;
  if (have > want) have = want;
  if (have < 0 || r->at < p->ra_off) have = 0;
  if (have > 0) memcpy(out, p->ra + (r->at - p->ra_off), (size_t)have);
  if (have < (int64_t)r->payload) memset(out + have, 0, r->payload - (size_t)have);
  return have;
}

// Reads packet k of a run into p->pkt (payload only), takes its per-channel peaks (the samples
// still little-endian as in the file) and swaps it to network order. Called WITHOUT the lock (a
// slow disk must not hold up pushes and polls); the run's fields are copied under the lock.
static int read_run_packet(pacer *p, const run_read *r, int peaks[MAX_CHANNELS], int *read_err) {
  unsigned char *out = p->pkt + 12;
  fill_payload(p, r, read_err);
  int all = 0;
  int ch = r->channels;
  for (int c = 0; c < ch && c < MAX_CHANNELS; c++) peaks[c] = 0;
  // the channel of each sample counts round (no division per sample: this loop runs for every
  // sample sent)
  int c = 0;
  for (uint32_t i = 0; i + 1 < r->payload; i += 2) {
    int v = (int16_t)(out[i] | (out[i + 1] << 8));
    if (v < 0) v = -v;
    if (c < MAX_CHANNELS && v > peaks[c]) peaks[c] = v;
    if (v > all) all = v;
    if (++c == ch) c = 0;
    // to network byte order (L16 is big-endian)
    unsigned char t = out[i];
    out[i] = out[i + 1];
    out[i + 1] = t;
  }
  return all;
}

// the fixed header of packet k of a run: sequence + k, timestamp + k * ticks, marker on packet 0 only
static void run_header(const entry *e, uint32_t k, unsigned char *h) {
  memcpy(h, e->hdr, 12);
  if (k > 0) h[1] &= 0x7f;
  uint16_t seq = (uint16_t)(((e->hdr[2] << 8) | e->hdr[3]) + k);
  uint32_t ts = ((uint32_t)e->hdr[4] << 24 | (uint32_t)e->hdr[5] << 16 | (uint32_t)e->hdr[6] << 8 | e->hdr[7]) + k * e->ticks;
  h[2] = seq >> 8;
  h[3] = seq & 0xff;
  h[4] = ts >> 24;
  h[5] = (ts >> 16) & 0xff;
  h[6] = (ts >> 8) & 0xff;
  h[7] = ts & 0xff;
}

// Linux 6.12+ (EEVDF): a fair-class thread may ask for a short time slice (sched_attr.sched_runtime,
// no privilege needed). Its earlier virtual deadline lets it preempt a busy thread at once when its
// sleep ends, instead of waiting up to the default 3 ms slice of whatever runs on that CPU (our own
// thread building the next batch, on a machine whose other CPU is busy). Older kernels ignore it
// or refuse it (EINVAL): nothing changes then.
struct rtpcast_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static int ask_short_slice(void) {
#ifdef SYS_sched_setattr
  struct rtpcast_sched_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.sched_policy = 0;  // SCHED_OTHER
  a.sched_nice = 0;
  a.sched_runtime = 100000;  // 0.1 ms, the kernel's minimum custom slice
  // keep the process's nice value: read it first (sched_setattr sets it too)
  errno = 0;
  int nice = getpriority(0, 0);
  if (errno == 0) a.sched_nice = nice;
  return syscall(SYS_sched_setattr, 0, &a, 0) == 0;
#else
  return 0;
#endif
}

// How the thread is scheduled: 2 = SCHED_FIFO (allowed: root, CAP_SYS_NICE, or an RLIMIT_RTPRIO such
// as the "audio" group's), 1 = fair class with a short slice, 0 = the default.
static int choose_scheduling(int try_rt) {
  if (try_rt) {
    // priority 10 of 99: above ordinary work, below the sound servers (PipeWire/JACK use 20-88).
    // The thread only sleeps and sends (no spinning, no unbounded work), and the kernel's RT
    // throttling bounds it anyway.
    struct rlimit rl;
    int want = 10;
    if (getrlimit(RLIMIT_RTPRIO, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 0 && (int)rl.rlim_cur < want) want = (int)rl.rlim_cur;
    struct sched_param sp = {.sched_priority = want};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0) return 2;
  }
  return ask_short_slice();
}

// Counts one RTP packet that left `late` ns after its due time (lock held).
static void count_rtp(pacer *p, int64_t late) {
  p->sent[0]++;
  if (late < 0) late = 0;
  if (late > p->late_max) p->late_max = late;
  if (late > 1000000) p->late_over_1ms++;
  p->late_sum_ns += (double)late;
  int64_t b = late / HIST_STEP_NS;
  p->hist[b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b]++;
}

static void pop_head(pacer *p) {
  entry *e = p->head;
  p->head = e->next;
  if (!p->head) p->tail = NULL;
  p->queued--;
  recycle(p, e);
}

static void *run(void *arg) {
  pacer *p = arg;
  // named, so top -H and /proc/PID/task/*/comm show which thread paces
  pthread_setname_np(pthread_self(), "rtpcast-pacer");
  p->sched = choose_scheduling(p->try_rt);
  pthread_mutex_lock(&p->mu);
  while (!p->stopping) {
    entry *e = p->head;
    if (!e) {
      pthread_cond_wait(&p->cv, &p->mu);
      continue;
    }
    if (e->is_run && (p->pkt_entry != e || p->pkt_index != e->done || p->pkt_drops != p->drops)) {
      // read the next packet of the run now, before its due time, with the lock released
      uint64_t drops = p->drops;
      run_read r = {.gen = e->file_gen, .drops = drops, .fd = e->fd, .channels = e->channels, .payload = e->payload, .at = e->offset + (int64_t)e->done * e->payload, .end = e->end};
      uint32_t k = e->done;
      int peaks[MAX_CHANNELS];
      int read_err = 0;
      pthread_mutex_unlock(&p->mu);
      int all = read_run_packet(p, &r, peaks, &read_err);
      pthread_mutex_lock(&p->mu);
      if (p->drops != drops || p->head != e) continue;  // dropped meanwhile: look again
      p->pkt_entry = e;
      p->pkt_index = k;
      p->pkt_drops = drops;
      p->pkt_peak = all;
      for (int c = 0; c < r.channels && c < MAX_CHANNELS; c++)
        if (peaks[c] > p->peak[c]) p->peak[c] = peaks[c];
      if (read_err) {
        p->read_errors++;
        p->read_errno = read_err;
      }
      continue;
    }
    int64_t due = e->is_run ? run_due(e, e->done) : e->due;
    if (now_ns() < due) {
      pthread_mutex_unlock(&p->mu);
      sleep_until(due);
      pthread_mutex_lock(&p->mu);
      continue;  // the queue may have been dropped meanwhile: look again
    }
    int64_t late = now_ns() - due;
    if (e->is_run) {
      run_header(e, e->done, p->pkt);
      send_bytes(p, 0, p->pkt, 12 + (size_t)e->payload);
      count_rtp(p, late);
      if (p->pkt_peak <= e->silence) p->silent_run++;
      else p->silent_run = 0;
      p->pkt_entry = NULL;
      if (++e->done == e->count) pop_head(p);
      continue;
    }
    send_bytes(p, e->group, e->data, e->len);
    if (e->group == 0) count_rtp(p, late);
    else p->sent[e->group]++;
    pop_head(p);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static double drop_all(pacer *p) {
  double n = 0;
  entry *e = p->head;
  while (e) {
    entry *next = e->next;
    n += e->is_run ? (double)(e->count - e->done) : 1;
    recycle(p, e);
    e = next;
  }
  p->head = p->tail = NULL;
  p->queued = 0;
  p->dropped += n;
  p->drops++;
  p->pkt_entry = NULL;
  return n;
}

static void stop_pacer(pacer *p) {
  if (p->closed) return;
  p->closed = 1;
  pthread_mutex_lock(&p->mu);
  p->stopping = 1;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  // the thread may be in clock_nanosleep up to the head's due time: it is at most one batch ahead
  if (p->started) pthread_join(p->thread, NULL);
  pthread_mutex_lock(&p->mu);
  drop_all(p);
  free_spares(p);
  pthread_mutex_unlock(&p->mu);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pacer *p = data;
  stop_pacer(p);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) {                         \
      napi_throw_error(env, NULL, "napi: " #call);   \
      return NULL;                                   \
    }                                                \
  } while (0)

static pacer *unwrap(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "expected a pacer handle");
    return NULL;
  }
  pacer *p = data;
  if (p->closed) {
    napi_throw_error(env, NULL, "the pacer is closed");
    return NULL;
  }
  return p;
}

// create(groups: number[][], tryRealtime?: boolean): handle. groups[g] = file descriptors of group g.
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pacer *p = calloc(1, sizeof(pacer));
  if (!p) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  uint32_t ng = 0;
  if (argc < 1 || napi_get_array_length(env, argv[0], &ng) != napi_ok || ng == 0 || ng > MAX_GROUPS) {
    free(p);
    napi_throw_type_error(env, NULL, "create(groups): 1 or 2 arrays of file descriptors");
    return NULL;
  }
  for (uint32_t g = 0; g < ng; g++) {
    napi_value arr;
    uint32_t n = 0;
    if (napi_get_element(env, argv[0], g, &arr) != napi_ok || napi_get_array_length(env, arr, &n) != napi_ok || n > MAX_FDS) {
      free(p);
      napi_throw_type_error(env, NULL, "create(groups): each group is an array of at most 64 file descriptors");
      return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      int32_t fd = -1;
      napi_get_element(env, arr, i, &v);
      if (napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0) {
        free(p);
        napi_throw_type_error(env, NULL, "create(groups): a file descriptor is not a non-negative integer");
        return NULL;
      }
      p->fds[g][i] = fd;
    }
    p->nfds[g] = (int)n;
  }
  bool try_rt = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &try_rt);
  p->try_rt = try_rt;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  if (pthread_create(&p->thread, NULL, run, p) != 0) {
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    napi_throw_error(env, NULL, "cannot start the pacing thread");
    return NULL;
  }
  p->started = 1;
  napi_value handle;
  CHECK(napi_create_external(env, p, finalize, NULL, &handle));
  return handle;
}

// An entry for a push (lock held): a recycled one when there is one, else a new one (NULL: no memory).
static entry *take_entry(pacer *p) {
  entry *e = p->spare;
  if (!e) return calloc(1, sizeof(entry));
  p->spare = e->next;
  p->nspare--;
  return e;
}

// Appends an entry (lock held); returns the number of entries queued.
static uint32_t enqueue(pacer *p, entry *e) {
  e->next = NULL;
  int was_empty = p->head == NULL;
  if (p->tail)
    p->tail->next = e;
  else
    p->head = e;
  p->tail = e;
  p->queued++;
  if (was_empty) pthread_cond_signal(&p->cv);
  return p->queued;
}

// push(handle, dueNs: bigint, group: number, packet: Buffer): queued count. The bytes are copied.
static napi_value js_push(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "push(handle, dueNs, group, packet)");
    return NULL;
  }
  pacer *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  int64_t due = 0;
  bool lossless = false;
  int32_t group = 0;
  void *data = NULL;
  size_t len = 0;
  if (napi_get_value_bigint_int64(env, argv[1], &due, &lossless) != napi_ok || napi_get_value_int32(env, argv[2], &group) != napi_ok ||
      group < 0 || group >= MAX_GROUPS || napi_get_buffer_info(env, argv[3], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "push(handle, dueNs: bigint, group: 0|1, packet: Buffer)");
    return NULL;
  }
  pthread_mutex_lock(&p->mu);
  entry *e = take_entry(p);
  if (e && (e->cap < len || !e->data)) {
    size_t cap = len > MIN_CAP ? len : MIN_CAP;
    unsigned char *grown = realloc(e->data, cap);
    if (grown) {
      e->data = grown;
      e->cap = cap;
    }
  }
  if (!e || !e->data || e->cap < len) {
    if (e) recycle(p, e);
    pthread_mutex_unlock(&p->mu);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  memcpy(e->data, data, len);
  e->is_run = 0;
  e->due = due;
  e->group = group;
  e->len = len;
  uint32_t queued = enqueue(p, e);
  pthread_mutex_unlock(&p->mu);
  napi_value out;
  CHECK(napi_create_uint32(env, queued, &out));
  return out;
}

static int get_num(napi_env env, napi_value obj, const char *name, double *out) {
  napi_value v;
  return napi_get_named_property(env, obj, name, &v) == napi_ok && napi_get_value_double(env, v, out) == napi_ok;
}

// pushRun(handle, anchorNs: bigint, header: Buffer(12), run: {first, fd, offset, end, count, payload,
// frame, rate, ticks, channels, silence}): queued count. Queues `count` L16 packets the thread reads
// from the file itself (see the entry struct). The fd must stay open until they have left.
static napi_value js_push_run(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "pushRun(handle, dueNs, header, run)");
    return NULL;
  }
  pacer *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  int64_t due = 0;
  bool lossless = false;
  void *hdr = NULL;
  size_t hlen = 0;
  double fd, offset, end, count, payload, frame, rate, ticks, channels, silence, first;
  if (napi_get_value_bigint_int64(env, argv[1], &due, &lossless) != napi_ok || napi_get_buffer_info(env, argv[2], &hdr, &hlen) != napi_ok || hlen != 12 ||
      !get_num(env, argv[3], "fd", &fd) || !get_num(env, argv[3], "offset", &offset) || !get_num(env, argv[3], "end", &end) ||
      !get_num(env, argv[3], "count", &count) || !get_num(env, argv[3], "payload", &payload) || !get_num(env, argv[3], "frame", &frame) ||
      !get_num(env, argv[3], "rate", &rate) || !get_num(env, argv[3], "ticks", &ticks) || !get_num(env, argv[3], "channels", &channels) ||
      !get_num(env, argv[3], "silence", &silence) || !get_num(env, argv[3], "first", &first)) {
    napi_throw_type_error(env, NULL, "pushRun(handle, anchorNs: bigint, header: 12-byte Buffer, {first, fd, offset, end, count, payload, frame, rate, ticks, channels, silence})");
    return NULL;
  }
  if (first < 0 || first > 9007199254740991.0 || fd < 0 || offset < 0 || end < offset || count < 1 || count > 4294967295.0 || payload < 2 || payload + 12 > MAX_PACKET || frame < 1 || rate < 1 ||
      ticks < 0 || channels < 1 || (uint32_t)payload % (2 * (uint32_t)channels) != 0) {
    napi_throw_range_error(env, NULL, "pushRun: a field is out of range (payload must be whole 16-bit frames and fit one datagram)");
    return NULL;
  }
  pthread_mutex_lock(&p->mu);
  entry *e = take_entry(p);
  if (!e) {
    pthread_mutex_unlock(&p->mu);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  e->is_run = 1;
  if (p->file_gen == 0 || p->last_run_fd != (int)fd) {
    p->file_gen++;
    p->last_run_fd = (int)fd;
  }
  e->file_gen = p->file_gen;
  e->due = due;
  e->first = (uint64_t)first;
  e->group = 0;
  e->len = 0;
  e->fd = (int)fd;
  e->offset = (int64_t)offset;
  e->end = (int64_t)end;
  e->count = (uint32_t)count;
  e->done = 0;
  e->payload = (uint32_t)payload;
  e->frame = (uint32_t)frame;
  e->rate = (uint32_t)rate;
  e->ticks = (uint32_t)ticks;
  e->channels = (int)channels;
  e->silence = silence;
  memcpy(e->hdr, hdr, 12);
  uint32_t queued = enqueue(p, e);
  pthread_mutex_unlock(&p->mu);
  napi_value out;
  CHECK(napi_create_uint32(env, queued, &out));
  return out;
}

static const char *errno_code(int e) {
  switch (e) {
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EMSGSIZE: return "EMSGSIZE";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOBUFS: return "ENOBUFS";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case ENOTCONN: return "ENOTCONN";
    case EINVAL: return "EINVAL";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case EHOSTDOWN: return "EHOSTDOWN";
    default: return "ERROR";
  }
}

static void set_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

// poll(handle): { queued (packets), silentRun, readErrors, readErrno, peaks (file runs: per-channel
// peak |sample| since the last poll, then reset), sentRtp, sentRtcp, dropped, lateOver1ms, lateMaxNs, lateSumNs, hist: Uint32Array, errors: [{group, index, code, message}], errorsLost }
// Counters are cumulative; the errors are those since the last poll.
static napi_value js_poll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pacer *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  napi_value obj, hist_ab, hist, errs;
  void *hist_data = NULL;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_arraybuffer(env, sizeof(uint32_t) * HIST_BUCKETS, &hist_data, &hist_ab));
  send_error errors[MAX_ERRORS];
  int nerrors;
  pthread_mutex_lock(&p->mu);
  double queued_packets = 0;
  for (entry *e = p->head; e; e = e->next) queued_packets += e->is_run ? (double)(e->count - e->done) : 1;
  set_num(env, obj, "queued", queued_packets);
  set_num(env, obj, "silentRun", p->silent_run);
  set_num(env, obj, "readErrors", p->read_errors);
  set_num(env, obj, "readErrno", p->read_errno);
  int peak[MAX_CHANNELS];
  memcpy(peak, p->peak, sizeof peak);
  memset(p->peak, 0, sizeof p->peak);
  set_num(env, obj, "sentRtp", p->sent[0]);
  set_num(env, obj, "sentRtcp", p->sent[1]);
  set_num(env, obj, "dropped", p->dropped);
  set_num(env, obj, "lateOver1ms", p->late_over_1ms);
  set_num(env, obj, "lateMaxNs", (double)p->late_max);
  set_num(env, obj, "lateSumNs", p->late_sum_ns);
  set_num(env, obj, "errorsLost", p->errors_lost);
  set_num(env, obj, "sched", p->sched);
  memcpy(hist_data, p->hist, sizeof(uint32_t) * HIST_BUCKETS);
  nerrors = p->nerrors;
  memcpy(errors, p->errors, sizeof(send_error) * nerrors);
  p->nerrors = 0;
  pthread_mutex_unlock(&p->mu);
  CHECK(napi_create_typedarray(env, napi_uint32_array, HIST_BUCKETS, hist_ab, 0, &hist));
  CHECK(napi_set_named_property(env, obj, "hist", hist));
  CHECK(napi_create_array_with_length(env, nerrors, &errs));
  for (int i = 0; i < nerrors; i++) {
    napi_value e, code, msg;
    CHECK(napi_create_object(env, &e));
    set_num(env, e, "group", errors[i].group);
    set_num(env, e, "index", errors[i].index);
    CHECK(napi_create_string_utf8(env, errno_code(errors[i].err), NAPI_AUTO_LENGTH, &code));
    CHECK(napi_create_string_utf8(env, strerror(errors[i].err), NAPI_AUTO_LENGTH, &msg));
    napi_set_named_property(env, e, "code", code);
    napi_set_named_property(env, e, "message", msg);
    napi_set_element(env, errs, (uint32_t)i, e);
  }
  CHECK(napi_set_named_property(env, obj, "errors", errs));
  int npeaks = 0;
  for (int c = 0; c < MAX_CHANNELS; c++)
    if (peak[c]) npeaks = c + 1;
  napi_value peaks;
  CHECK(napi_create_array_with_length(env, npeaks, &peaks));
  for (int c = 0; c < npeaks; c++) {
    napi_value v;
    CHECK(napi_create_int32(env, peak[c], &v));
    CHECK(napi_set_element(env, peaks, (uint32_t)c, v));
  }
  CHECK(napi_set_named_property(env, obj, "peaks", peaks));
  set_num(env, obj, "histStepNs", HIST_STEP_NS);
  return obj;
}

// drop(handle): number of queued packets discarded (not sent).
static napi_value js_drop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pacer *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  pthread_mutex_lock(&p->mu);
  double n = drop_all(p);
  pthread_mutex_unlock(&p->mu);
  napi_value out;
  CHECK(napi_create_double(env, n, &out));
  return out;
}

// close(handle): stops and joins the thread; queued packets are dropped. Idempotent.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "expected a pacer handle");
    return NULL;
  }
  stop_pacer(data);
  return NULL;
}

// now(): CLOCK_MONOTONIC in ns as a bigint (the clock the due times are in).
static napi_value js_now(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_bigint_int64(env, now_ns(), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"push", NULL, js_push, NULL, NULL, NULL, napi_default, NULL},
      {"pushRun", NULL, js_push_run, NULL, NULL, NULL, napi_default, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_default, NULL},
      {"drop", NULL, js_drop, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"now", NULL, js_now, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
