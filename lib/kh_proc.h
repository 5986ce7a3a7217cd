/*
 * kh_proc.h - the data directory's layout and the processes living in it.
 *
 *   DIR/county.json        the county configuration the services run with
 *   DIR/store/             the LMDB environment (kh_store.h)
 *   DIR/run/NAME.sock      ipc endpoints: scorer, scorer-pub, ranker,
 *                          ingest-dispatch, ingest-legal, ingest-station,
 *                          ingest-assessor
 *   DIR/run/NAME.pid       pid files of the running services
 *   DIR/log/NAME.log       each service's stderr (key=value lines)
 */
#ifndef KH_PROC_H
#define KH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* snprintf into buf "DIR/sub/name.ext"; KH_OK or KH_ERANGE when too long.
 * sub and ext may be NULL. */
int kh_path(char *buf, size_t cap, const char *dir, const char *sub, const char *name,
            const char *ext);
/* "ipc://DIR/run/NAME.sock"; KH_ERANGE when over the ipc path limit. */
int kh_endpoint(char *buf, size_t cap, const char *dir, const char *name);
/* Creates DIR (0700) and its run/ and log/ subdirectories. */
int kh_datadir_prepare(const char *dir);
/* Resolves a directory to an absolute path (it must exist). */
int kh_abspath(char *buf, size_t cap, const char *dir);

/* Copies a file to `to` with mode (through to.tmp and a rename, so `to`
 * is either absent or whole). KH_OK or KH_EIO. */
int kh_file_copy(const char *from, const char *to, unsigned mode);

/* Writes DIR/run/NAME.pid with this process's pid (atomically). */
int kh_pidfile_write(const char *dir, const char *name);
void kh_pidfile_remove(const char *dir, const char *name);
/* True while the process runs; an exited zombie is not running. */
bool kh_proc_running(pid_t pid);
/* The pid in DIR/run/NAME.pid if that process is alive, else 0. */
pid_t kh_pidfile_alive(const char *dir, const char *name);

#endif
