/* The CPU device's threads: a fixed set of workers, created with a session and kept for its
 * life, that run the parts of one step at a time.
 *
 * hal_threads_run(n_tasks) has task t meant for worker t and runs task 0 itself. Then, rather
 * than wait for a worker that has not started yet (it may be asleep, or the other cores busy
 * with other programs), the calling thread takes over every task still unclaimed, and waits
 * only for the tasks a worker has claimed. A task is claimed once, by one thread, through a
 * compare-and-swap on its slot, so each task runs exactly once, in whole; what a task computes
 * depends on its number alone, never on the thread or the timing, and the kernels make the
 * bytes independent of the split anyway (ops/variant.h). A worker that has nothing to do
 * polls briefly, since the next step usually follows within microseconds, then sleeps on a
 * condition variable, so that an idle session costs no CPU; hal_threads_wake sets sleeping
 * workers polling again ahead of a step that will need them, since waking takes long. (Polling
 * for a whole run was tried: on cores shared with other programs, a worker preempted in the
 * middle of its task then stalls the step, and runs got slower.)
 *
 * Slot t holds 2g while task t of generation g is unclaimed, and 2g + 1 once claimed (or when
 * generation g has no task t). A worker that wakes late, for a generation already finished,
 * fails its claim and waits for the next one; the calling thread changes the generation's work
 * only after all of its tasks have finished.
 *
 * Threads exist only in hosted POSIX builds; the freestanding builds (the K210 firmware) have
 * the calling thread alone, and every function below degrades to it. */
#include "hal.h"

#define HAL_THREADS_LIMIT 64

#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ && !defined(DETVM_NO_THREADS) &&                \
    (defined(__unix__) || defined(__APPLE__))

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Polls before sleeping: about 100 microseconds of `pause` on current x86 cores. */
#define SPIN_ROUNDS 4096

typedef struct {
    hal_threads *threads;
    uint32_t index;
} worker_arg;

struct hal_threads {
    uint32_t n;                 /* threads in all, the caller's included */
    pthread_t *workers;         /* n - 1 of them */
    worker_arg *args;
    pthread_mutex_t lock;
    pthread_cond_t start;       /* generation moved */
    pthread_cond_t finished;    /* every task of the generation finished */
    atomic_uint generation;     /* bumped once per hal_threads_run, and to stop */
    atomic_uint slots[HAL_THREADS_LIMIT];
    atomic_uint done;           /* tasks of the current generation finished */
    uint32_t sleepers;          /* workers waiting on start (under lock) */
    uint32_t wakes;             /* hal_threads_wake calls (under lock) */
    /* The current generation's work, written before generation is bumped (release) and read
     * after a task is claimed (acquire). */
    uint32_t n_tasks;
    void (*task)(void *user, uint32_t t);
    void *user;
    atomic_int stop;
};

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Waits until the generation differs from *seen, and records the new one: polls for a while,
 * then sleeps until the generation moves or hal_threads_wake asks for polling again. */
static void wait_generation(hal_threads *p, unsigned *seen)
{
    for (;;) {
        for (int i = 0; i < SPIN_ROUNDS; i++) {
            unsigned g = atomic_load_explicit(&p->generation, memory_order_acquire);
            if (g != *seen) {
                *seen = g;
                return;
            }
            relax();
        }
        pthread_mutex_lock(&p->lock);
        p->sleepers++;
        const unsigned wakes = p->wakes;
        unsigned g;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == *seen &&
               p->wakes == wakes)
            pthread_cond_wait(&p->start, &p->lock);
        p->sleepers--;
        pthread_mutex_unlock(&p->lock);
        if (g != *seen) {
            *seen = g;
            return;
        }
    }
}

/* Claims task t of generation g; nonzero when this thread is to run it. */
static int claim(hal_threads *p, uint32_t t, unsigned g)
{
    unsigned want = 2 * g;
    return atomic_compare_exchange_strong_explicit(&p->slots[t], &want, 2 * g + 1,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

/* Runs a claimed task and counts it; the last one wakes the calling thread if it sleeps. */
static void run_claimed(hal_threads *p, uint32_t t)
{
    /* read before `done` moves: after the last task, the caller may start the next run */
    const uint32_t n_tasks = p->n_tasks;
    p->task(p->user, t);
    if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) + 1 == n_tasks) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_signal(&p->finished);
        pthread_mutex_unlock(&p->lock);
    }
}

static void *worker_main(void *arg)
{
    const worker_arg *a = arg;
    hal_threads *p = a->threads;
    unsigned seen = 0;
    for (;;) {
        wait_generation(p, &seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return NULL;
        if (claim(p, a->index, seen))
            run_claimed(p, a->index);
    }
}

/* Moves the generation on and wakes the sleeping workers. */
static void publish(hal_threads *p)
{
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_mutex_lock(&p->lock);
    if (p->sleepers)
        pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
}

uint32_t hal_threads_max(void)
{
    return HAL_THREADS_LIMIT;
}

static void stop_workers(hal_threads *p, uint32_t started)
{
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    publish(p);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(p->workers[i], NULL);
}

hal_threads *hal_threads_new(uint32_t n)
{
    if (n < 2 || n > HAL_THREADS_LIMIT)
        return NULL;
    hal_threads *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n;
    p->workers = calloc(n - 1, sizeof *p->workers);
    p->args = calloc(n - 1, sizeof *p->args);
    atomic_init(&p->generation, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, 0);
    for (uint32_t t = 0; t < HAL_THREADS_LIMIT; t++)
        atomic_init(&p->slots[t], 1);   /* generation 0 has no tasks */
    if (!p->workers || !p->args || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->workers);
        free(p->args);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->finished, NULL);
    uint32_t started = 0;
    for (; started < n - 1; started++) {
        p->args[started] = (worker_arg){p, started + 1};
        if (pthread_create(&p->workers[started], NULL, worker_main, &p->args[started]) != 0)
            break;
    }
    if (started < n - 1) {
        stop_workers(p, started);
        pthread_cond_destroy(&p->start);
        pthread_cond_destroy(&p->finished);
        pthread_mutex_destroy(&p->lock);
        free(p->workers);
        free(p->args);
        free(p);
        return NULL;
    }
    return p;
}

void hal_threads_free(hal_threads *p)
{
    if (!p)
        return;
    stop_workers(p, p->n - 1);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->finished);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p->args);
    free(p);
}

uint32_t hal_threads_count(const hal_threads *p)
{
    return p ? p->n : 1;
}

void hal_threads_wake(hal_threads *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->sleepers) {
        p->wakes++;
        pthread_cond_broadcast(&p->start);
    }
    pthread_mutex_unlock(&p->lock);
}

void hal_threads_run(hal_threads *p, uint32_t n_tasks, void (*task)(void *user, uint32_t t),
                     void *user)
{
    if (!p || n_tasks < 2) {
        for (uint32_t t = 0; t < n_tasks; t++)
            task(user, t);
        return;
    }
    /* The generation about to start: its tasks 1..n_tasks-1 unclaimed, the others closed. */
    const unsigned g = atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
    p->n_tasks = n_tasks;
    p->task = task;
    p->user = user;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    for (uint32_t t = 0; t < p->n; t++)
        atomic_store_explicit(&p->slots[t], t >= 1 && t < n_tasks ? 2 * g : 2 * g + 1,
                              memory_order_relaxed);
    publish(p);
    run_claimed(p, 0);
    for (uint32_t t = 1; t < n_tasks; t++)
        if (claim(p, t, g))
            run_claimed(p, t);
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&p->done, memory_order_acquire) == n_tasks)
            return;
        relax();
    }
    pthread_mutex_lock(&p->lock);
    while (atomic_load_explicit(&p->done, memory_order_acquire) != n_tasks)
        pthread_cond_wait(&p->finished, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

#else

uint32_t hal_threads_max(void)
{
    return 1;
}

hal_threads *hal_threads_new(uint32_t n)
{
    (void)n;
    return NULL;
}

void hal_threads_free(hal_threads *p)
{
    (void)p;
}

uint32_t hal_threads_count(const hal_threads *p)
{
    (void)p;
    return 1;
}

void hal_threads_wake(hal_threads *p)
{
    (void)p;
}

void hal_threads_run(hal_threads *p, uint32_t n_tasks, void (*task)(void *user, uint32_t t),
                     void *user)
{
    (void)p;
    for (uint32_t t = 0; t < n_tasks; t++)
        task(user, t);
}

#endif
