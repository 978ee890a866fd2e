// The exchange deadline of Note [Exchange deadline] (RecurParallel/ExchangeDeadline.swift): a
// thread that ends the process when one blocking exchange between ranks has waited too long.
// In C so that the main thread's arm and disarm are two relaxed atomic stores (no allocation,
// no lock in a warm step) and the thread that fires needs nothing of the Swift runtime.

#include "CKernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic long long armed_at;       // CLOCK_MONOTONIC ns when the wait began; 0 = none
static _Atomic int waited_peer;          // the rank waited on, -1 = several
static _Atomic long long limit_ns;       // allowed wait of the current exchange
static _Atomic long long base_limit_ns;  // parallel.exchange_timeout
static _Atomic long step_now;
static atomic_int started;
static int my_rank;
static char my_host[64];
static char (*hosts)[64];
static int host_count;
static char hint[512];

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *watch(void *unused) {
    (void)unused;
    for (;;) {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
        long long since = atomic_load_explicit(&armed_at, memory_order_relaxed);
        if (since == 0) continue;
        long long waited = now_ns() - since, limit = atomic_load_explicit(&limit_ns, memory_order_relaxed);
        if (waited <= limit) continue;
        int peer = atomic_load_explicit(&waited_peer, memory_order_relaxed);
        char who[128];
        if (peer >= 0 && peer < host_count) snprintf(who, sizeof who, "rank %d (host %s)", peer, hosts[peer]);
        else snprintf(who, sizeof who, "the other ranks");
        char message[1024];
        int n = snprintf(message, sizeof message,
                         "recur: rank %d (host %s): no data from %s for %.0f s in the exchange of step %ld: "
                         "that host, its link or its process is gone or stuck, so the job ends (raise "
                         "parallel.exchange_timeout, now %.0f s, if ranks can be this far apart)%s%s\n",
                         my_rank, my_host, who, (double)waited / 1e9, atomic_load(&step_now),
                         (double)atomic_load(&base_limit_ns) / 1e9, hint[0] ? "; " : "", hint);
        if (n > 0) {
            ssize_t ignored = write(2, message, (size_t)n < sizeof message ? (size_t)n : sizeof message - 1);
            (void)ignored;
        }
        _exit(RECUR_EXCHANGE_TIMEOUT_STATUS);
    }
    return NULL;
}

int recur_deadline_start(double seconds, int rank, const char *host, int rank_count, const char *const *rank_hosts,
                         const char *resume_hint) {
    if (atomic_exchange(&started, 1)) return 0;
    my_rank = rank;
    snprintf(my_host, sizeof my_host, "%s", host);
    hosts = calloc((size_t)rank_count, sizeof *hosts);
    if (!hosts) return -1;
    host_count = rank_count;
    for (int i = 0; i < rank_count; i++) snprintf(hosts[i], sizeof hosts[i], "%s", rank_hosts[i]);
    snprintf(hint, sizeof hint, "%s", resume_hint ? resume_hint : "");
    atomic_store(&base_limit_ns, (long long)(seconds * 1e9));
    atomic_store(&limit_ns, (long long)(seconds * 1e9));
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attributes, watch, NULL);
    pthread_attr_destroy(&attributes);
    return rc == 0 ? 0 : -1;
}

void recur_deadline_arm(int peer) {
    atomic_store_explicit(&waited_peer, peer, memory_order_relaxed);
    atomic_store_explicit(&armed_at, now_ns(), memory_order_relaxed);
}

void recur_deadline_disarm(void) { atomic_store_explicit(&armed_at, 0, memory_order_relaxed); }

void recur_deadline_set_step(long step) { atomic_store_explicit(&step_now, step, memory_order_relaxed); }

void recur_deadline_scale(double factor) {
    atomic_store_explicit(&limit_ns, (long long)((double)atomic_load(&base_limit_ns) * factor), memory_order_relaxed);
}
