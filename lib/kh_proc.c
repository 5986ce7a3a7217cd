/*
 * kh_proc.c - data directory layout and pid files; see kh_proc.h.
 */
#include "kh_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kh_error.h"

int kh_path(char *buf, size_t cap, const char *dir, const char *sub, const char *name,
            const char *ext)
{
    int n = snprintf(buf, cap, "%s%s%s/%s%s%s", dir, sub ? "/" : "", sub ? sub : "", name,
                     ext ? "." : "", ext ? ext : "");
    return (n < 0 || (size_t)n >= cap) ? KH_ERANGE : KH_OK;
}

int kh_endpoint(char *buf, size_t cap, const char *dir, const char *name)
{
    char path[512];
    if (kh_path(path, sizeof path, dir, "run", name, "sock"))
        return KH_ERANGE;
    /* sockaddr_un.sun_path holds 108 bytes with its NUL. */
    if (strlen(path) > 107)
        return KH_ERANGE;
    int n = snprintf(buf, cap, "ipc://%s", path);
    return (n < 0 || (size_t)n >= cap) ? KH_ERANGE : KH_OK;
}

static int mkdir_0700(const char *p)
{
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return KH_EIO;
    return KH_OK;
}

int kh_datadir_prepare(const char *dir)
{
    char p[PATH_MAX];
    if (mkdir_0700(dir))
        return KH_EIO;
    chmod(dir, 0700);
    if (kh_path(p, sizeof p, dir, NULL, "run", NULL) || mkdir_0700(p) ||
        kh_path(p, sizeof p, dir, NULL, "log", NULL) || mkdir_0700(p))
        return KH_EIO;
    return KH_OK;
}

int kh_file_copy(const char *from, const char *to, unsigned mode)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return KH_EIO;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        if (fd >= 0)
            close(fd);
        fclose(in);
        return KH_EIO;
    }
    char buf[8192];
    size_t n;
    int rc = ferror(in) ? KH_EIO : KH_OK;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = KH_EIO;
    if (ferror(in))
        rc = KH_EIO;
    fclose(in);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0)
        rc = KH_EIO;
    if (fclose(out) != 0 || rc || rename(tmp, to) != 0) {
        unlink(tmp);
        return KH_EIO;
    }
    return KH_OK;
}

int kh_abspath(char *buf, size_t cap, const char *dir)
{
    char tmp[PATH_MAX];
    if (!realpath(dir, tmp))
        return KH_EIO;
    if (strlen(tmp) >= cap)
        return KH_ERANGE;
    strcpy(buf, tmp);
    return KH_OK;
}

int kh_pidfile_write(const char *dir, const char *name)
{
    char p[PATH_MAX], tmp[PATH_MAX];
    if (kh_path(p, sizeof p, dir, "run", name, "pid") ||
        kh_path(tmp, sizeof tmp, dir, "run", name, "pid.tmp"))
        return KH_ERANGE;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return KH_EIO;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, p) != 0)
        return KH_EIO;
    return KH_OK;
}

void kh_pidfile_remove(const char *dir, const char *name)
{
    char p[PATH_MAX];
    if (kh_path(p, sizeof p, dir, "run", name, "pid") == KH_OK)
        unlink(p);
}

/* True while pid runs: a zombie (exited, not yet reaped by whoever
 * adopted it) counts as gone. */
bool kh_proc_running(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return false;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true; /* no procfs: trust kill() */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* the name may hold spaces */
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

pid_t kh_pidfile_alive(const char *dir, const char *name)
{
    char p[PATH_MAX];
    if (kh_path(p, sizeof p, dir, "run", name, "pid"))
        return 0;
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    long pid = 0;
    int ok = fscanf(f, "%ld", &pid) == 1;
    fclose(f);
    if (!ok || pid <= 0)
        return 0;
    if (!kh_proc_running((pid_t)pid))
        return 0;
    /* A stale pid file (after a reboot or kill -9) may name a process
     * that reused the number: only a kaohe service counts. */
    char cmd[64], argv0[256];
    snprintf(cmd, sizeof cmd, "/proc/%ld/cmdline", pid);
    FILE *c = fopen(cmd, "r");
    if (c) {
        size_t n = fread(argv0, 1, sizeof argv0 - 1, c);
        fclose(c);
        argv0[n] = '\0';
        const char *base = strrchr(argv0, '/');
        base = base ? base + 1 : argv0;
        if (strncmp(base, "kaohe-", 6) != 0)
            return 0;
    }
    return (pid_t)pid;
}
