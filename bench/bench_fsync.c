/*
 * bench_fsync - the latency of making a small write durable, in the file
 * system that holds the data directory.
 *
 *   bench_fsync DIR [COUNT]
 *
 * Two ways, COUNT times each (default 1000), in a scratch file under DIR
 * that is removed afterwards:
 *   append:    write 100 bytes at the end, fsync (a growing file: the
 *              metadata goes to disk too);
 *   overwrite: pwrite 100 bytes in place, fdatasync (what LMDB does for
 *              a commit's meta page; it syncs twice per commit).
 * Prints one JSON line per way: {"bench":"fsync","mode":...,"n":...,
 * "p50_us":...,"p99_us":...,"max_us":...}.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

static int run(int fd, const char *mode, int count, int64_t *lat)
{
    char buf[100];
    memset(buf, 'k', sizeof buf);
    for (int i = 0; i < count; i++) {
        int64_t t = bench_now_ns();
        if (strcmp(mode, "append") == 0) {
            if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fsync(fd) != 0)
                return -1;
        } else {
            if (pwrite(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf ||
                fdatasync(fd) != 0)
                return -1;
        }
        lat[i] = bench_now_ns() - t;
    }
    qsort(lat, (size_t)count, sizeof *lat, bench_cmp_i64);
    printf("{\"bench\":\"fsync\",\"mode\":\"%s\",\"n\":%d,\"p50_us\":%.1f,"
           "\"p99_us\":%.1f,\"max_us\":%.1f}\n",
           mode, count, bench_percentile(lat, (size_t)count, 5000, 1) / 1e3,
           bench_percentile(lat, (size_t)count, 9900, 1) / 1e3, lat[count - 1] / 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_fsync DIR [COUNT]\n");
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 1000;
    if (count <= 0)
        count = 1000;
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-fsync.%ld", argv[1], (long)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int64_t *lat = malloc((size_t)count * sizeof *lat);
    int rc = 1;
    if (fd < 0 || !lat) {
        perror(path);
        goto out;
    }
    if (run(fd, "append", count, lat) || run(fd, "overwrite", count, lat)) {
        perror("fsync");
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    unlink(path);
    free(lat);
    return rc;
}
