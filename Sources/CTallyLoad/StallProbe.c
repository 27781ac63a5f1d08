// A thread that does nothing but sleep for a short period and note how late it woke. Nothing it does waits for
// the host or the driver, so a late wake-up is the machine's: every CPU busy, or (in a virtual machine) the
// whole machine not running.
#include "CTallyLoad.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct tally_stall_probe {
    pthread_t thread;
    atomic_int stop;
    long period_ns;
    long late_ns;
    tally_stall_figures figures;
};

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void *probe_main(void *argument) {
    tally_stall_probe *probe = argument;
    struct timespec period = { .tv_sec = probe->period_ns / 1000000000L, .tv_nsec = probe->period_ns % 1000000000L };
    double asked = (double)probe->period_ns / 1e9;
    double threshold = (double)probe->late_ns / 1e9;
    while (!atomic_load_explicit(&probe->stop, memory_order_relaxed)) {
        double before = seconds_now();
        nanosleep(&period, NULL);
        double late = seconds_now() - before - asked;
        probe->figures.wakeups += 1;
        if (late > threshold) {
            probe->figures.late += 1;
            probe->figures.lateTotal += late;
            if (late > probe->figures.longest) probe->figures.longest = late;
        }
    }
    return NULL;
}

tally_stall_probe *tally_stall_probe_start(long period_ns, long late_ns) {
    tally_stall_probe *probe = calloc(1, sizeof *probe);
    if (probe == NULL) return NULL;
    probe->period_ns = period_ns;
    probe->late_ns = late_ns;
    atomic_init(&probe->stop, 0);
    if (pthread_create(&probe->thread, NULL, probe_main, probe) != 0) {
        free(probe);
        return NULL;
    }
    return probe;
}

void tally_stall_probe_stop(tally_stall_probe *probe, tally_stall_figures *figures) {
    atomic_store(&probe->stop, 1);
    pthread_join(probe->thread, NULL);
    *figures = probe->figures;
    free(probe);
}
