/* drift_actions.c — model promotion and the reference roll-forward (drift_actions.h). */
#include "drift/drift_actions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/fsutil.h"
#include "model/model_actuators.h"

static atomic_uint tmp_counter;

static int io_err(char **ret_err, const char *what, const char *path)
{
    if (ret_err && asprintf(ret_err, "%s %s: %s", what, path, strerror(errno)) < 0)
        *ret_err = NULL;
    return SH_EIO;
}

static int copy_fd(int in, int out)
{
    static const size_t BUF = 1 << 20;
    char *buf = malloc(BUF);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t n = read(in, buf, BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return (int)n;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                free(buf);
                return -1;
            }
            off += w;
        }
    }
}

int drift_copy_atomic(const char *src, const char *dst, char **ret_err)
{
    fs_ignore_sigxfsz(); /* a file-size limit is an error, not the end of the process */
    char *dir = fs_dirname(dst);
    if (!dir)
        return SH_ENOMEM;
    const char *base = strrchr(dst, '/') ? strrchr(dst, '/') + 1 : dst;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%d.%u", dir, base, (int)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        free(dir);
        return io_err(ret_err, "cannot read", src);
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        free(dir);
        return io_err(ret_err, "cannot create", tmp);
    }
    int r = 0;
    if (copy_fd(in, out) != 0)
        r = io_err(ret_err, "cannot copy to", tmp);
    else if (fsync(out) != 0)
        r = io_err(ret_err, "cannot flush", tmp);
    close(in);
    if (close(out) != 0 && r == 0)
        r = io_err(ret_err, "cannot write", tmp);
    if (r == 0 && rename(tmp, dst) != 0)
        r = io_err(ret_err, "cannot replace", dst);
    if (r != 0) {
        unlink(tmp);
    } else {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(dir);
    return r;
}

int drift_promote_newest(struct platform *pf, const struct pipeline *p, bool *ret_promoted,
                         char *version, size_t vsize, char *note, size_t nsize)
{
    *ret_promoted = false;
    version[0] = '\0';
    const struct model_actuators *ma =
        pf->actuators ? (const struct model_actuators *)pf->actuators(pf, "model") : NULL;
    if (!ma) {
        snprintf(note, nsize, "the %s platform has no model registry: no version promoted",
                 pf->name ? pf->name : "");
        return SH_EINVAL;
    }
    const struct spec_model *sm = &p->spec.model;
    const char *metric = sm->metric.name && *sm->metric.name ? sm->metric.name : "accuracy";
    struct model_registry_view view;
    memset(&view, 0, sizeof view);
    int r = ma->observe(ma, p, &view);
    if (r == SH_EINVAL) { /* nothing names a registry for p */
        snprintf(note, nsize, "no model version promoted (%s)", view.error[0] ? view.error : "no registry");
        model_registry_view_free(&view);
        return r;
    }
    if (r != 0 || view.count == 0) {
        snprintf(note, nsize, "no version promoted: %s",
                 view.error[0] ? view.error : r ? sh_strerror(r) : "the registry has no versions");
        model_registry_view_free(&view);
        return r;
    }
    const struct model_version *nv = &view.versions[view.count - 1];
    snprintf(version, vsize, "%s", nv->name);
    if (view.current[0] && strcmp(view.current, nv->name) == 0) {
        snprintf(note, nsize, "the newest version %s is already current", nv->name);
    } else if (!nv->has_metric) {
        snprintf(note, nsize, "kept %s: the newest version %s records no %s",
                 view.current[0] ? view.current : "the current version", nv->name, metric);
    } else if (nv->metric < sm->min_accuracy) {
        snprintf(note, nsize, "kept %s: the newest version %s records %s %.3f < minAccuracy %.3f",
                 view.current[0] ? view.current : "the current version", nv->name, metric,
                 nv->metric, sm->min_accuracy);
    } else {
        char *err = NULL;
        r = ma->activate(ma, p, nv->name, NULL, &err);
        if (r == 0) {
            *ret_promoted = true;
            snprintf(note, nsize, "%s (%s %.3f) is now current%s%s%s", nv->name, metric, nv->metric,
                     view.current[0] ? " (was " : "", view.current, view.current[0] ? ")" : "");
        } else {
            snprintf(note, nsize, "promoting %s failed: %s", nv->name, err ? err : sh_strerror(r));
        }
        free(err);
    }
    model_registry_view_free(&view);
    return r;
}
