/*
 * What bench/floor's C programs share: N client threads that loop until `stop`, counting
 * `calls` and `failures`, for a number of seconds; then calls/s on stdout.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int stop;
static atomic_long calls, failures;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Runs `clients` threads of `client` (at most 256) for `seconds`; the exit code: 1 on failures. */
static int run_clients(void *(*client)(void *), int clients, int seconds) {
    pthread_t threads[256];
    double started = now();
    for (int i = 0; i < clients; i++) pthread_create(&threads[i], NULL, client, NULL);
    struct timespec wait = {seconds, 0};
    nanosleep(&wait, NULL);
    atomic_store(&stop, 1);
    long done = atomic_load(&calls);
    double elapsed = now() - started;
    for (int i = 0; i < clients; i++) pthread_join(threads[i], NULL);
    printf("calls: %ld in %.2f s\ncalls/s: %.0f\nfailures: %ld\n", done, elapsed,
           done / elapsed, atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
