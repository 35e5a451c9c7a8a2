/* kb_blockmap: glass table reads served from read-only mappings (see
 * kb_blockmap.h). The interposed functions are defined in the program, so
 * the dynamic linker binds libxapian's (and every other library's) calls to
 * them; each one calls the next definition (libc, or a sanitizer's
 * interceptor in front of it) through dlsym(RTLD_NEXT).
 *
 * One slot per descriptor number, each with its own mutex: a pread locks
 * only its descriptor's slot, so worker threads reading different tables
 * never touch each other's cache lines. The slot's `used` flag is read
 * without the lock first, so calls on descriptors that were never mapped
 * (sockets, the indexer's files in another program) cost one load. */
#define _GNU_SOURCE
#include "kb_blockmap.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- the real functions ----------------------------------------------------- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*close_fn)(int);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef int (*fadvise_fn)(int, off_t, off_t, int);

static open_fn real_open, real_open64;
static close_fn real_close;
static pread_fn real_pread, real_pread64;
static fadvise_fn real_fadvise, real_fadvise64;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void *next_sym(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void resolve(void)
{
    /* POSIX guarantees that a data pointer from dlsym converts to a
     * function pointer; the copy through memcpy keeps -Wpedantic quiet */
    void *p;
#define RESOLVE(var, name)                                                                        \
    do {                                                                                          \
        p = next_sym(name);                                                                       \
        memcpy(&(var), &p, sizeof p);                                                             \
    } while (0)
    RESOLVE(real_open, "open");
    RESOLVE(real_open64, "open64");
    RESOLVE(real_close, "close");
    RESOLVE(real_pread, "pread");
    RESOLVE(real_pread64, "pread64");
    RESOLVE(real_fadvise, "posix_fadvise");
    RESOLVE(real_fadvise64, "posix_fadvise64");
#undef RESOLVE
    if (!real_open64)
        real_open64 = real_open;
    if (!real_pread64)
        real_pread64 = real_pread;
    if (!real_fadvise64)
        real_fadvise64 = real_fadvise;
}

/* resolved before main, and on first use for calls made by earlier
 * constructors */
__attribute__((constructor)) static void bm_init(void)
{
    pthread_once(&resolve_once, resolve);
}
#define RESOLVED() pthread_once(&resolve_once, resolve)

/* ---- slots -------------------------------------------------------------------- */

struct bm_slot {
    pthread_mutex_t mu; /* zero bytes are PTHREAD_MUTEX_INITIALIZER in glibc */
    atomic_int used;    /* a read-only glass file: preads go through the slot */
    char *addr;         /* the mapping (NULL: none; reads fall back) */
    size_t len;         /* its length: the file size when mapped */
    atomic_ullong hits; /* preads served from the mapping */
};

static struct bm_slot slots[KB_BLOCKMAP_MAX_FD];
static atomic_int enabled;
static atomic_ullong st_hits_closed, st_fallbacks, st_maps, st_sigbus;

void kb_blockmap_set(int on)
{
    atomic_store(&enabled, on ? 1 : 0);
}

int kb_blockmap_enabled(void)
{
    return atomic_load(&enabled);
}

void kb_blockmap_stats(struct kb_blockmap_stats *out)
{
    unsigned long long hits = atomic_load(&st_hits_closed);
    for (int fd = 0; fd < KB_BLOCKMAP_MAX_FD; fd++)
        if (atomic_load_explicit(&slots[fd].used, memory_order_relaxed))
            hits += atomic_load_explicit(&slots[fd].hits, memory_order_relaxed);
    out->hits = hits;
    out->fallbacks = atomic_load(&st_fallbacks);
    out->maps = atomic_load(&st_maps);
    out->sigbus = atomic_load(&st_sigbus);
}

int kb_blockmap_mapped(int fd, size_t *len)
{
    if (fd < 0 || fd >= KB_BLOCKMAP_MAX_FD)
        return 0;
    struct bm_slot *s = &slots[fd];
    pthread_mutex_lock(&s->mu);
    int mapped = atomic_load(&s->used) && s->addr != NULL;
    if (len)
        *len = mapped ? s->len : 0;
    pthread_mutex_unlock(&s->mu);
    return mapped;
}

/* with s->mu held: drops the mapping */
static void slot_unmap(struct bm_slot *s)
{
    if (s->addr)
        munmap(s->addr, s->len);
    s->addr = NULL;
    s->len = 0;
}

/* with s->mu held: maps fd at its current size. On failure (an empty file,
 * mmap refused) the slot stays used with no mapping: reads fall back. */
static void slot_map(struct bm_slot *s, int fd)
{
    struct stat st;
    if (fstat(fd, &st) || st.st_size <= 0 || (size_t)st.st_size == s->len)
        return;
    slot_unmap(s);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return;
    s->addr = p;
    s->len = (size_t)st.st_size;
    atomic_fetch_add_explicit(&st_maps, 1, memory_order_relaxed);
}

/* with s->mu held: forgets the slot (its descriptor is being closed, or was
 * closed behind our back and its number is reused) */
static void slot_forget(struct bm_slot *s)
{
    slot_unmap(s);
    atomic_fetch_add_explicit(&st_hits_closed, atomic_exchange(&s->hits, 0), memory_order_relaxed);
    atomic_store(&s->used, 0);
}

static struct bm_slot *slot_used(int fd)
{
    if (fd < 0 || fd >= KB_BLOCKMAP_MAX_FD)
        return NULL;
    struct bm_slot *s = &slots[fd];
    return atomic_load_explicit(&s->used, memory_order_acquire) ? s : NULL;
}

/* ---- SIGBUS while copying ----------------------------------------------------- */

static _Thread_local sigjmp_buf bus_jmp;
static _Thread_local volatile sig_atomic_t bus_armed;
static struct sigaction bus_old;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    if (bus_armed)
        siglongjmp(bus_jmp, 1);
    /* not a copy of ours: whatever was there before */
    if (bus_old.sa_flags & SA_SIGINFO) {
        if (bus_old.sa_sigaction) {
            bus_old.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (bus_old.sa_handler == SIG_IGN) {
        return;
    } else if (bus_old.sa_handler != SIG_DFL) {
        bus_old.sa_handler(sig);
        return;
    }
    /* the default action: die of this signal (a fault re-faults on return) */
    signal(sig, SIG_DFL);
    raise(sig);
}

void kb_blockmap_catch_sigbus(void)
{
    struct sigaction sa, cur;
    if (sigaction(SIGBUS, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
        cur.sa_sigaction == on_sigbus)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    /* SA_NODEFER: leaving the handler by siglongjmp (no mask saved, so no
     * sigprocmask per copy) must not leave SIGBUS blocked */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &bus_old);
}

static void bus_install(void)
{
    kb_blockmap_catch_sigbus();
}

/* Copies n bytes from src; returns 0, or -1 when the copy took a SIGBUS
 * (the file shrank under the mapping). */
static int copy_guarded(void *dst, const char *src, size_t n)
{
    if (sigsetjmp(bus_jmp, 0)) {
        bus_armed = 0;
        sigset_t bus;
        sigemptyset(&bus);
        sigaddset(&bus, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
        return -1;
    }
    bus_armed = 1;
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(dst, src, n);
    atomic_signal_fence(memory_order_seq_cst);
    bus_armed = 0;
    return 0;
}

/* ---- the interposed calls ------------------------------------------------------- */

static int ends_with_glass(const char *path)
{
    static const char ext[] = ".glass";
    size_t n = strlen(path);
    return n >= sizeof ext - 1 && memcmp(path + n - (sizeof ext - 1), ext, sizeof ext - 1) == 0;
}

/* after a successful open: clears a stale slot, maps a glass table */
static int after_open(int fd, const char *path, int flags)
{
    if (fd < 0 || fd >= KB_BLOCKMAP_MAX_FD)
        return fd;
    struct bm_slot *s = &slots[fd];
    int glass = atomic_load_explicit(&enabled, memory_order_relaxed) &&
                (flags & O_ACCMODE) == O_RDONLY && ends_with_glass(path);
    if (!glass && !atomic_load_explicit(&s->used, memory_order_acquire))
        return fd;
    struct stat st;
    if (glass && (fstat(fd, &st) || !S_ISREG(st.st_mode)))
        glass = 0;
    if (glass)
        pthread_once(&bus_once, bus_install);
    pthread_mutex_lock(&s->mu);
    slot_forget(s);
    if (glass) {
        atomic_store(&s->used, 1);
        slot_map(s, fd);
    }
    pthread_mutex_unlock(&s->mu);
    return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
        return (mode_t)va_arg(ap, int);
    return 0;
}

/* open and open64: the mode argument is there only with O_CREAT/O_TMPFILE */
static int open_via(const open_fn *real, const char *path, int flags, va_list ap)
{
    RESOLVED(); /* *real is read only after this */
    return after_open((*real)(path, flags, open_mode(flags, ap)), path, flags);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_via(&real_open, path, flags, ap);
    va_end(ap);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_via(&real_open64, path, flags, ap);
    va_end(ap);
    return fd;
}

int close(int fd)
{
    RESOLVED();
    struct bm_slot *s = slot_used(fd);
    if (s) {
        /* before the real close: once it returns, another thread's open
         * may get this number */
        pthread_mutex_lock(&s->mu);
        slot_forget(s);
        pthread_mutex_unlock(&s->mu);
    }
    return real_close(fd);
}

static ssize_t slot_pread(struct bm_slot *s, int fd, void *buf, size_t n, off_t off,
                          pread_fn real)
{
    if (off < 0 || n == 0)
        return real(fd, buf, n, off);
    pthread_mutex_lock(&s->mu);
    if (atomic_load_explicit(&s->used, memory_order_relaxed)) {
        size_t o = (size_t)off;
        if (o > s->len || n > s->len - o)
            slot_map(s, fd); /* grown (or shrunk) since mapped */
        if (s->addr && o <= s->len && n <= s->len - o) {
            if (copy_guarded(buf, s->addr + o, n) == 0) {
                atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
                pthread_mutex_unlock(&s->mu);
                return (ssize_t)n;
            }
            /* truncated under us: map again at the new size on the next
             * read past the end; this one goes to the kernel */
            atomic_fetch_add_explicit(&st_sigbus, 1, memory_order_relaxed);
            slot_unmap(s);
        }
    }
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add_explicit(&st_fallbacks, 1, memory_order_relaxed);
    return real(fd, buf, n, off);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    RESOLVED();
    struct bm_slot *s = slot_used(fd);
    return s ? slot_pread(s, fd, buf, n, off, real_pread) : real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    RESOLVED();
    struct bm_slot *s = slot_used(fd);
    return s ? slot_pread(s, fd, buf, n, off, real_pread64) : real_pread64(fd, buf, n, off);
}

/* Xapian asks the kernel to read ahead the blocks it is about to pread
 * (POSIX_FADV_WILLNEED): for a mapped table that is a system call that buys
 * nothing, and the advice may always be ignored */
int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
    RESOLVED();
    if (advice == POSIX_FADV_WILLNEED && slot_used(fd))
        return 0;
    return real_fadvise(fd, off, len, advice);
}

int posix_fadvise64(int fd, off_t off, off_t len, int advice)
{
    RESOLVED();
    if (advice == POSIX_FADV_WILLNEED && slot_used(fd))
        return 0;
    return real_fadvise64(fd, off, len, advice);
}
