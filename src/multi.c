/* multi.c - non-blocking calls on curl's multi interface, driven by the
 * caller's loop: one epoll set of curl's sockets (gls_client_pollfd), one
 * deadline (gls_client_timeout_ms), and gls_client_step to do what is ready.
 * Linux (epoll). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "client.h"

static void list_unlink(gls_request **head, gls_request *q) {
  if (q->prev) q->prev->next = q->next;
  else *head = q->next;
  if (q->next) q->next->prev = q->prev;
  q->prev = q->next = NULL;
}

static void active_push(gls_client *c, gls_request *q) {
  q->prev = NULL;
  q->next = c->active;
  if (c->active) c->active->prev = q;
  c->active = q;
}

/* Moves q to the done list; its callback runs in the next step. */
static void mark_done(gls_client *c, gls_request *q) {
  if (q->state == REQ_RUNNING || q->state == REQ_BACKOFF) list_unlink(&c->active, q);
  q->state = REQ_DONE;
  q->next = NULL;
  q->prev = c->done_tail;
  if (c->done_tail) c->done_tail->next = q;
  else c->done_head = q;
  c->done_tail = q;
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  (void)easy;
  gls_client *c = userp;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL); /* may already be gone: closed fds leave epoll */
    return 0;
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.data.fd = s;
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(c->epfd, op, s, &ev) != 0) {
    if (errno == EEXIST) epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev);
    else if (errno == ENOENT) epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev);
  }
  if (!socketp) curl_multi_assign(c->multi, s, c);
  return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  gls_client *c = userp;
  c->curl_due = timeout_ms < 0 ? -1 : gls_now_ms() + timeout_ms;
  return 0;
}

gls_status gls_multi_init(gls_client *c) {
  c->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (c->epfd < 0) return GLS_E_TRANSPORT;
  if (!(c->multi = curl_multi_init())) return GLS_E_NOMEM;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  return GLS_OK;
}

static void run_callbacks(gls_client *c, int *completed) {
  while (c->done_head) {
    gls_request *q = c->done_head;
    c->done_head = q->next;
    if (!c->done_head) c->done_tail = NULL;
    q->next = q->prev = NULL;
    if (q->easy) {
      curl_easy_cleanup(q->easy);
      q->easy = NULL;
    }
    gls_result *r = q->result;
    q->result = NULL;
    c->in_flight--;
    c->in_callback++;
    q->done(c, q, r, q->ud);
    c->in_callback--;
    q->result = NULL;
    gls_result_free(gls_request_release(q));
    if (completed) (*completed)++;
  }
}

void gls_multi_cleanup(gls_client *c) {
  while (c->active) {
    gls_request *q = c->active;
    if (q->state == REQ_RUNNING) curl_multi_remove_handle(c->multi, q->easy);
    gls_result_fail(q->result, GLS_E_CANCELLED, "Cancelled", "the client was destroyed");
    mark_done(c, q);
  }
  run_callbacks(c, NULL);
  if (c->multi) curl_multi_cleanup(c->multi);
  c->multi = NULL;
  if (c->epfd >= 0) close(c->epfd);
  c->epfd = -1;
}

/* Starts an attempt; GLS_OK means it is running, or waiting for the
 * adaptive rate limiter (REQ_BACKOFF with a due time). Anything else means
 * q is finished (failed, or a dry run's request is its result). */
static gls_status begin_attempt(gls_client *c, gls_request *q) {
  long wait = gls_retry_before_send(c->retry, gls_now_ms());
  if (wait > 0) {
    q->state = REQ_BACKOFF;
    q->due_ms = gls_now_ms() + wait;
    return GLS_OK;
  }
  gls_status st = gls_attempt_setup(q, q->easy);
  if (st == GLS_OK && c->dry_run) {
    gls_dry_run_result(q);
    return GLS_E_CANCELLED; /* not running: the caller marks it done */
  }
  if (st == GLS_OK && curl_multi_add_handle(c->multi, q->easy) != CURLM_OK)
    st = gls_result_fail(q->result, GLS_E_TRANSPORT, "ConnectionError", "curl_multi_add_handle failed");
  if (st == GLS_OK) q->state = REQ_RUNNING;
  return st;
}

gls_status gls_client_start(gls_client *c, const char *operation, const char *input, size_t input_len,
                            gls_done_fn done, void *ud, gls_request **out_req) {
  if (out_req) *out_req = NULL;
  if (!c || !done) return GLS_E_INVALID_ARGUMENT;
  gls_status st;
  gls_request *q = gls_request_open(c, operation, input, input_len, &st);
  if (!q) return st;
  q->done = done;
  q->ud = ud;
  c->in_flight++;
  if (st == GLS_OK && !(q->easy = curl_easy_init()))
    st = gls_result_fail(q->result, GLS_E_NOMEM, "NoMemory", "out of memory");
  if (st == GLS_OK) {
    active_push(c, q);
    q->state = REQ_BACKOFF; /* so a failed begin_attempt unlinks it */
    if (begin_attempt(c, q) != GLS_OK) mark_done(c, q);
  } else {
    mark_done(c, q);
  }
  if (out_req) *out_req = q;
  return GLS_OK;
}

gls_status gls_request_cancel(gls_request *q) {
  if (!q) return GLS_E_INVALID_ARGUMENT;
  gls_client *c = q->c;
  if (q->state == REQ_DONE) return GLS_OK;
  if (q->state == REQ_RUNNING) curl_multi_remove_handle(c->multi, q->easy);
  q->cancelled = 1;
  gls_result_fail(q->result, GLS_E_CANCELLED, "Cancelled", "the request was cancelled");
  q->result->retryable = 0;
  mark_done(c, q);
  return GLS_OK;
}

int gls_client_pollfd(gls_client *c) { return c ? c->epfd : -1; }

size_t gls_client_in_flight(const gls_client *c) { return c ? c->in_flight : 0; }

long gls_client_timeout_ms(gls_client *c) {
  if (!c) return -1;
  if (c->done_head) return 0;
  int64_t now = gls_now_ms(), due = c->curl_due;
  for (gls_request *q = c->active; q; q = q->next)
    if (q->state == REQ_BACKOFF && (due < 0 || q->due_ms < due)) due = q->due_ms;
  if (due < 0) return -1;
  return due <= now ? 0 : (long)(due - now);
}

static void drain_messages(gls_client *c) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(c->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    gls_request *q = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
    CURLcode rc = m->data.result;
    curl_multi_remove_handle(c->multi, m->easy_handle);
    if (!q) continue;
    long delay = gls_attempt_finish(q, q->easy, rc);
    if (delay < 0) {
      mark_done(c, q);
    } else {
      q->state = REQ_BACKOFF;
      q->due_ms = gls_now_ms() + delay;
    }
  }
}

gls_status gls_client_step(gls_client *c, long timeout_ms, int *completed) {
  if (completed) *completed = 0;
  if (!c) return GLS_E_INVALID_ARGUMENT;
  if (c->in_callback) {
    gls_client_seterr(c, "gls_client_step called from inside a completion callback");
    return GLS_E_BUSY;
  }
  long wait = gls_client_timeout_ms(c);
  if (c->in_flight == 0) wait = 0;
  else if (wait < 0 || (timeout_ms >= 0 && wait > timeout_ms)) wait = timeout_ms;
  if (wait > 0x7fffffffL) wait = 0x7fffffffL;
  struct epoll_event ev[64];
  int n = epoll_wait(c->epfd, ev, 64, (int)wait);
  int running = 0;
  for (int i = 0; i < n; i++) {
    int flags = 0;
    if (ev[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (ev[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (ev[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(c->multi, ev[i].data.fd, flags, &running);
  }
  int64_t now = gls_now_ms();
  if (c->curl_due >= 0 && c->curl_due <= now) {
    c->curl_due = -1;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  drain_messages(c);
  /* attempts whose backoff is over */
  now = gls_now_ms();
  for (gls_request *q = c->active, *next; q; q = next) {
    next = q->next;
    if (q->state == REQ_BACKOFF && q->due_ms <= now && begin_attempt(c, q) != GLS_OK) mark_done(c, q);
  }
  run_callbacks(c, completed);
  return GLS_OK;
}
