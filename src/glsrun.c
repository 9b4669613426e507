/*
 * glsrun.c - a Lua 5.4 interpreter with gls built in, modelled on lua.c.
 *
 *   glsrun [options] [SCRIPT [ARGS...]]
 *
 * "gameliftstreams.core" (the C module) and every Lua file under lua/gameliftstreams/
 * (embedded at build time by tools/embed.lua) are in package.preload, so an
 * installed glsrun needs no LUA_PATH/LUA_CPATH.
 *
 * As in lua.c: every call into Lua is protected, with a message handler that
 * appends a traceback; errors are reported as "glsrun: MESSAGE" on stderr;
 * SIGINT only sets a hook that raises "interrupted!" at the next Lua
 * instruction (a second SIGINT kills the process). Nothing below main()
 * exits: each step returns a status and main() turns it into the exit code.
 *
 * Exit codes (DESIGN.md, glsrun): 0 success, 1 a script error (as lua(1)),
 * 130 interrupted, 252 a bad command line; OPERATION also 253, 254, 255
 * as the AWS CLI.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "gls.h"
#include "lgls.h"

#define PROGNAME "glsrun"

#define EXIT_OK 0
#define EXIT_SCRIPT_ERROR 1
#define EXIT_INTERRUPTED 130
#define EXIT_USAGE 252
#define EXIT_GENERAL 255

#define LUA_INIT_VAR "LUA_INIT"
#define LUA_INITVARVERSION LUA_INIT_VAR LUA_VERSUFFIX

/* The state the SIGINT handler sets its hook on. A signal handler has no
 * other way to reach it; this is the executable's, never the library's. */
static lua_State *globalL = NULL;

/* The last SIGINT/SIGTERM a server command (emulator, serve) received. Those
 * commands block both signals and let the server's epoll_pwait take them,
 * so this handler only records which one came. The executable's, never the
 * library's. */
static volatile sig_atomic_t server_signal = 0;

/* Registry key (its address) marking that "interrupted!" was raised. */
static const char interrupted_key = 'i';

static void l_message(const char *msg) {
  fprintf(stderr, "%s: %s\n", PROGNAME, msg);
  fflush(stderr);
}

/* ------------------------------------------------------------- signals */

static void setsignal(int sig, void (*handler)(int)) {
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

/* Hook installed by laction: remembers the interruption and raises. */
static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &interrupted_key);
  luaL_error(L, "interrupted!");
}

/* SIGINT handler: only sets a hook (lua_sethook is safe here), as lua.c. */
static void laction(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  setsignal(sig, SIG_DFL); /* a second SIGINT terminates the process */
  lua_sethook(globalL, lstop, flag, 1);
}

static void record_signal(int sig) { server_signal = sig; }

/* --------------------------------------------------- protected calls */


/* Calls the function under narg arguments, protected, with gls_l_msghandler and
 * the SIGINT handler in place. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, gls_l_msghandler);
  lua_insert(L, base);
  setsignal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  setsignal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

/* Prints the error on top of the stack (if any) and pops it. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    l_message(msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}

/* The exit code for a failed step. */
static int failure_code(lua_State *L) {
  int interrupted = lua_rawgetp(L, LUA_REGISTRYINDEX, &interrupted_key) != LUA_TNIL;
  lua_pop(L, 1);
  return interrupted ? EXIT_INTERRUPTED : EXIT_SCRIPT_ERROR;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* require(name), stored in global 'name' (lua -l). */
static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return report(L, status);
}

/* ------------------------------------------------------ command line */

static void print_version(void) {
  printf("%s %s (%s)\n", PROGNAME, GLS_VERSION, LUA_RELEASE);
  fflush(stdout);
}

#define USAGE_LINES \
  "usage: " PROGNAME " [options] [SCRIPT [ARGS...]]\n" \
  "       " PROGNAME " COMMAND [OPTIONS]\n"

static void print_help(FILE *f) {
  fputs(USAGE_LINES, f);
  fprintf(f,
    "\n"
    "Runs a Lua 5.4 script with gls built in: require \"gameliftstreams\" and\n"
    "\"gameliftstreams.core\" need no LUA_PATH. SCRIPT is the first argument that\n"
    "is not an option and holds a '.' or a '/' (write ./NAME for a file without\n"
    "an extension), or '-' for standard input. As with lua(1), the script finds\n"
    "its arguments in the global 'arg' (arg[0] is SCRIPT) and in '...'.\n"
    "\n"
    "Options:\n"
    "  -e CODE        run the Lua string CODE (may repeat)\n"
    "  -l NAME        require library NAME into global NAME\n"
    "  -E             ignore the environment variables LUA_INIT_5_4 and LUA_INIT\n"
    "  -W             turn warnings on\n"
    "  -v, --version  print the version\n"
    "  -h, --help     print this help\n"
    "  --             stop handling options; what follows is SCRIPT [ARGS...]\n"
    "  -              run standard input as SCRIPT\n"
    "\n"
    "Commands:\n"
    "  emulator [--listen HOST:PORT] [--tls-cert F --tls-key F] [--clock virtual|real]\n"
    "           [--region REGION]\n"
    "                            a local GameLift Streams; first line \"listening on URL\";\n"
    "                            stops on SIGINT/SIGTERM\n"
    "  serve POLICY.lua [--listen HOST:PORT] [--endpoint-url URL] [--region R]\n"
    "           [--profile P] [--stream-group ID] [--application ID] [--max-body BYTES]\n"
    "                            the reconnect front, driven by POLICY.lua; first line\n"
    "                            \"listening on URL\"; stops on SIGINT/SIGTERM\n"
    "  OPERATION [OPTIONS]       as `aws gameliftstreams OPERATION` of the AWS CLI v2\n"
    "  wait WAITER [OPTIONS]     as `aws gameliftstreams wait WAITER`\n"
    "\n"
    "Exit status: 0 success, 1 script error, 130 interrupted, 252 bad command line;\n"
    "for OPERATION also 253 bad configuration or credentials, 254 a service error,\n"
    "255 anything else.\n");
  fflush(f);
}

static void print_usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", PROGNAME);
  fprintf(stderr, fmt, what);
  fputs("\n" USAGE_LINES "Try '" PROGNAME " --help' for more.\n", stderr);
  fflush(stderr);
}

#define HAS_ERROR 1 /* bad option: argv[*first] is the culprit */
#define HAS_V 2     /* -v, --version */
#define HAS_E 4     /* -e */
#define HAS_NOENV 8 /* -E */
#define HAS_H 16    /* -h, --help */

/* lua.c's collectargs, plus the long options. On return, *first is the
 * index of SCRIPT (argc when there is none) or, with HAS_ERROR, of the bad
 * argument. */
static int collectargs(char **argv, int argc, int *first) {
  int args = 0;
  int i;
  for (i = 1; i < argc; i++) {
    *first = i;
    const char *a = argv[i];
    if (a[0] != '-') return args;          /* SCRIPT or a command */
    switch (a[1]) {
      case '-':
        if (a[2] == '\0') {                  /* "--" */
          *first = i + 1;
          return args;
        }
        /* `glsrun --cli-auto-prompt [...]`: the CLI asks for the operation */
        if (strcmp(a, "--cli-auto-prompt") == 0) return args;
        if (strcmp(a, "--help") == 0) args |= HAS_H;
        else if (strcmp(a, "--version") == 0) args |= HAS_V;
        else return HAS_ERROR;
        break;
      case '\0':                             /* "-": stdin */
        return args;
      case 'E':
      case 'W':
      case 'v':
      case 'h':
        if (a[2] != '\0') return HAS_ERROR;
        args |= a[1] == 'E' ? HAS_NOENV : a[1] == 'v' ? HAS_V : a[1] == 'h' ? HAS_H : 0;
        break;
      case 'e':
        args |= HAS_E;
        /* fall through */
      case 'l':
        if (a[2] == '\0') {                  /* the argument is the next word */
          i++;
          if (i >= argc || argv[i][0] == '-') return HAS_ERROR;
        }
        break;
      default:
        return HAS_ERROR;
    }
  }
  *first = argc;
  return args;
}

/* Runs -e and -l in order (options before index n). */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    if (option == 'e' || option == 'l') {
      const char *extra = argv[i] + 2;
      if (*extra == '\0') extra = argv[++i];
      int status = option == 'e' ? dostring(L, extra, "=(command line)")
                                 : dolibrary(L, extra);
      if (status != LUA_OK) return status;
    } else if (option == 'W') {
      lua_warning(L, "@on", 0);
    }
  }
  return LUA_OK;
}

/* The global 'arg' exactly as lua.c builds it: arg[0] is SCRIPT (or the
 * program when there is none), negative indices the program and options,
 * positive ones the script's arguments. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  int narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Pushes arg[1..#arg], the script's '...'. */
static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  int i;
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

static int handle_luainit(lua_State *L) {
  const char *name = "=" LUA_INITVARVERSION;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=" LUA_INIT_VAR;
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* Whether argv[script] names a script rather than a command. */
static int is_script(char **argv, int script) {
  const char *s = argv[script];
  if (strcmp(argv[script - 1], "--") == 0) return 1;
  return strcmp(s, "-") == 0 || strchr(s, '.') != NULL || strchr(s, '/') != NULL;
}

/* Commands that run a server loop in a Lua module's main(argv): the module's
 * main returns an exit code. SIGINT and SIGTERM are blocked everywhere but
 * inside the server's wait (epoll_pwait), where they end the loop: the
 * command then stops cleanly, exiting 0 on SIGTERM and 130 on SIGINT. */
static const struct { const char *name, *module; } server_commands[] = {
  {"emulator", "gameliftstreams.emulator"},
  {"serve", "gameliftstreams.serve"},
  {NULL, NULL},
};

static const char *server_module(const char *cmd) {
  for (int i = 0; server_commands[i].name; i++)
    if (strcmp(cmd, server_commands[i].name) == 0) return server_commands[i].module;
  return NULL;
}

static int run_server_command(lua_State *L, const char *module, char **argv, int argc) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = record_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigprocmask(SIG_BLOCK, &block, NULL);
  lua_pushcfunction(L, gls_l_msghandler);
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
  int status = lua_pcall(L, 1, 1, -3);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i + 1);
    }
    status = lua_pcall(L, 1, 1, -4);
  }
  int code;
  if (status != LUA_OK) {
    report(L, status);
    code = EXIT_SCRIPT_ERROR;
  } else {
    code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_SCRIPT_ERROR;
  }
  if (server_signal == SIGINT && code == EXIT_OK) code = EXIT_INTERRUPTED;
  return code;
}

/* `glsrun OPERATION ...` and `glsrun wait WAITER ...`: gameliftstreams.cli's
 * main(argv) answers as `aws gameliftstreams ...` does and returns the exit
 * code (DESIGN.md). SIGINT raises "interrupted!" as for scripts; main turns
 * it into 130. */
static int run_cli_command(lua_State *L, char **argv, int argc) {
  lua_getglobal(L, "require");
  lua_pushstring(L, "gameliftstreams.cli");
  int status = docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i + 1);
    }
    status = docall(L, 1, 1);
  }
  if (status != LUA_OK) {
    report(L, status);
    return failure_code(L) == EXIT_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_GENERAL;
  }
  return lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_GENERAL;
}

/* Whether arg is one of the AWS CLI's global options (awscli/data/cli.json):
 * `glsrun --region R OPERATION ...` is then a CLI command line, as
 * `aws --region R gameliftstreams OPERATION ...`. */
static int is_cli_global(const char *arg) {
  static const char *const globals[] = {
    "--debug", "--endpoint-url", "--no-verify-ssl", "--no-paginate", "--output", "--query",
    "--profile", "--region", "--color", "--no-sign-request", "--ca-bundle",
    "--cli-read-timeout", "--cli-connect-timeout", "--cli-binary-format", "--no-cli-pager",
    "--cli-auto-prompt", "--no-cli-auto-prompt", NULL};
  size_t n = strcspn(arg, "=");
  for (int i = 0; globals[i]; i++)
    if (strlen(globals[i]) == n && strncmp(globals[i], arg, n) == 0) return 1;
  return 0;
}

/* Everything, in protected mode; returns the exit code. */
static int run(lua_State *L, int argc, char **argv) {
  int script;
  if (argc > 1 && is_cli_global(argv[1])) {
    luaL_openlibs(L);
    gls_l_preload(L);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    return run_cli_command(L, argv + 1, argc - 1);
  }
  int args = collectargs(argv, argc, &script);
  luaL_checkversion(L);
  if (args == HAS_ERROR) {
    const char *bad = argv[script];
    if ((bad[1] == 'e' || bad[1] == 'l') && bad[2] == '\0')
      print_usage_error("'%s' needs an argument", bad);
    else
      print_usage_error("unrecognized option '%s'", bad);
    return EXIT_USAGE;
  }
  if (args & HAS_H) {
    print_help(stdout);
    return EXIT_OK;
  }
  if (script < argc && !is_script(argv, script)) {
    const char *module = server_module(argv[script]);
    luaL_openlibs(L);
    gls_l_preload(L);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    if (module == NULL) return run_cli_command(L, argv + script, argc - script);
    return run_server_command(L, module, argv + script + 1, argc - script - 1);
  }
  if (args & HAS_V) print_version();
  if (script == argc && !(args & (HAS_E | HAS_V))) {
    print_usage_error("%s", "nothing to run");
    return EXIT_USAGE;
  }
  if (args & HAS_NOENV) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  gls_l_preload(L);
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & HAS_NOENV) && handle_luainit(L) != LUA_OK) return failure_code(L);
  if (runargs(L, argv, script) != LUA_OK) return failure_code(L);
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return failure_code(L);
  return EXIT_OK;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  lua_pushinteger(L, run(L, argc, argv));
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    l_message("cannot create state: not enough memory");
    return EXIT_SCRIPT_ERROR;
  }
  globalL = L;
  lua_gc(L, LUA_GCSTOP); /* while building the state */
  lua_pushcfunction(L, gls_l_msghandler);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 1);
  int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : EXIT_SCRIPT_ERROR;
  report(L, status);
  lua_close(L);
  gls_global_cleanup();
  return code;
}
