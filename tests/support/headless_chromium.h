// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands
// on the child's fd 3, replies and events on its fd 4, each message JSON ended by a NUL byte), for
// the web UI and HTML report tests. No node, no npm: only the `chromium` Debian package
// (scripts/setup). Every wait is on an observable condition (a reply, an event, a DOM predicate
// checked on each mutation) with a bound; nothing sleeps and hopes.
//
//   if (HeadlessChromium::find().empty()) GTEST_SKIP() << "chromium not installed";
//   HeadlessChromium browser;                       // throws when it cannot start
//   browser.navigate("http://127.0.0.1:8080/ui");
//   browser.eval("document.querySelector('#query').value = 'x'");
//   browser.wait_for("document.querySelectorAll('#reranked li').length > 0");
//
// Launched as CI runs it: --headless=new, --no-sandbox (root cannot use the sandbox), a temporary
// --user-data-dir removed afterwards, in its own process group (killed whole at the end).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"

namespace winnow::testing {

class HeadlessChromium {
public:
    // The browser to run: $WINNOW_CHROMIUM, else chromium or chromium-browser on the usual paths;
    // "" when there is none (the only reason a browser test may skip).
    static std::string find() {
        if (const char* env = std::getenv("WINNOW_CHROMIUM"); env && *env)
            return std::filesystem::exists(env) ? env : "";
        for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"}) {
            if (std::filesystem::exists(p)) return p;
        }
        return "";
    }

    explicit HeadlessChromium(std::string binary = find(), int width = 1280, int height = 900) {
        if (binary.empty()) throw std::runtime_error("no chromium binary");
        ::signal(SIGPIPE, SIG_IGN);  // a browser that died is reported by the write, not by a signal
        profile_ = std::filesystem::temp_directory_path() /
                   ("winnow_chromium_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        std::filesystem::remove_all(profile_);
        std::filesystem::create_directories(profile_);
        int to_browser[2], from_browser[2];
        if (::pipe(to_browser) != 0 || ::pipe(from_browser) != 0) throw std::runtime_error("pipe");
        const std::vector<std::string> args = {binary,
                                               "--headless=new",
                                               "--no-sandbox",
                                               "--disable-gpu",
                                               "--disable-dev-shm-usage",
                                               "--remote-debugging-pipe",
                                               "--user-data-dir=" + profile_.string(),
                                               "--no-first-run",
                                               "--no-default-browser-check",
                                               "--disable-background-networking",
                                               "--disable-component-update",
                                               "--disable-sync",
                                               "--disable-extensions",
                                               "--disable-features=Translate,MediaRouter",
                                               "--mute-audio",
                                               "--hide-scrollbars",
                                               "--force-device-scale-factor=1",
                                               "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                               "about:blank"};
        const std::string log = (profile_ / "stderr.log").string();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            // fds 3 and 4 as the protocol wants them (moved above them first, so neither dup2
            // overwrites the other's source).
            const int in = ::fcntl(to_browser[0], F_DUPFD, 100), out = ::fcntl(from_browser[1], F_DUPFD, 100);
            ::dup2(in, 3);
            ::dup2(out, 4);
            for (int fd = 5; fd < 1024; ++fd) ::close(fd);
            if (FILE* f = std::fopen(log.c_str(), "w")) {
                ::dup2(::fileno(f), STDERR_FILENO);
                ::dup2(::fileno(f), STDOUT_FILENO);
            }
            std::vector<char*> argv;
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(binary.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(to_browser[0]);
        ::close(from_browser[1]);
        ::fcntl(to_browser[1], F_SETFD, FD_CLOEXEC);  // not inherited by later children (servers)
        ::fcntl(from_browser[0], F_SETFD, FD_CLOEXEC);
        write_fd_ = to_browser[1];
        read_fd_ = from_browser[0];
        const Json target = call("Target.createTarget", {{"url", "about:blank"}});
        const Json attached = call("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}});
        session_ = attached.at("sessionId").get<std::string>();
        call("Page.enable", Json::object(), session_);
        call("Runtime.enable", Json::object(), session_);
    }

    HeadlessChromium(const HeadlessChromium&) = delete;
    HeadlessChromium& operator=(const HeadlessChromium&) = delete;

    ~HeadlessChromium() {
        if (pid_ > 0) {
            try {
                send("Browser.close", Json::object(), "");
            } catch (...) {
            }
            // Exits once closed: its end of the pipe reaches EOF (bounded), then the group is reaped.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            char buf[4096];
            while (std::chrono::steady_clock::now() < deadline) {
                pollfd p{read_fd_, POLLIN, 0};
                if (::poll(&p, 1, 200) > 0 && ::read(read_fd_, buf, sizeof buf) <= 0) break;
            }
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (write_fd_ >= 0) ::close(write_fd_);
        if (read_fd_ >= 0) ::close(read_fd_);
        std::error_code ec;
        std::filesystem::remove_all(profile_, ec);
    }

    // Loads `url` and returns once its load event fired.
    void navigate(const std::string& url, int timeout_ms = 30000) {
        loaded_ = false;
        const Json r = call("Page.navigate", {{"url", url}}, session_, timeout_ms);
        if (r.contains("errorText")) throw std::runtime_error("navigate " + url + ": " + r["errorText"].dump());
        await_event([this] { return loaded_; }, timeout_ms, "the load event of " + url);
    }

    // Reloads the page and returns once its load event fired.
    void reload(int timeout_ms = 30000) {
        loaded_ = false;
        call("Page.reload", Json::object(), session_, timeout_ms);
        await_event([this] { return loaded_; }, timeout_ms, "the load event after reload");
    }

    // Evaluates a JavaScript expression in the page (a promise is awaited) and returns its value;
    // throws with the page's message when it throws.
    Json eval(const std::string& expression, int timeout_ms = 30000) {
        const Json r =
            call("Runtime.evaluate",
                 {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}, {"timeout", timeout_ms}},
                 session_, timeout_ms + 5000);
        if (r.contains("exceptionDetails")) {
            const Json& d = r["exceptionDetails"];
            std::string what = d.contains("exception") && d["exception"].contains("description")
                                   ? d["exception"]["description"].get<std::string>()
                                   : d.value("text", std::string("exception"));
            throw std::runtime_error("in the page: " + what + "\n  evaluating: " + expression.substr(0, 300));
        }
        const Json& v = r.at("result");
        return v.contains("value") ? v["value"] : Json(nullptr);
    }

    // Waits until a JavaScript condition holds in the page, checked now and after every DOM change
    // (a MutationObserver), failing after timeout_ms with the condition in the message.
    void wait_for(const std::string& condition, int timeout_ms = 20000) {
        const std::string cond = Json(condition).dump();
        eval(
            "new Promise((resolve, reject) => {"
            "  const check = () => { try { return !!(" +
                condition +
                "); } catch (e) { return false; } };"
                "  if (check()) return resolve(true);"
                "  const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); clearTimeout(t); "
                "resolve(true); } });"
                "  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"
                "  const t = setTimeout(() => { obs.disconnect(); reject(new Error('timed out after " +
                std::to_string(timeout_ms) + " ms waiting for ' + " + cond + ")); }, " + std::to_string(timeout_ms) +
                ");"
                "})",
            timeout_ms + 5000);
    }

    // A PNG of the whole page.
    std::string screenshot_png() {
        const Json r = call("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", true}}, session_);
        return base64_decode(r.at("data").get<std::string>());
    }

    // Uncaught exceptions in the page so far (Runtime.exceptionThrown).
    const std::vector<std::string>& page_errors() const { return page_errors_; }
    // The end of the browser's own log (for failure messages).
    std::string log_tail() const {
        std::ifstream in(profile_ / "stderr.log");
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
    }

private:
    static int& counter() {
        static int n = 0;
        return n;
    }

    int send(const std::string& method, const Json& params, const std::string& session) {
        Json msg{{"id", ++next_id_}, {"method", method}, {"params", params}};
        if (!session.empty()) msg["sessionId"] = session;
        std::string text = msg.dump();
        text.push_back('\0');
        std::size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(write_fd_, text.data() + done, text.size() - done);
            if (n <= 0) throw std::runtime_error("chromium: the protocol pipe closed\n" + log_tail());
            done += static_cast<std::size_t>(n);
        }
        return next_id_;
    }

    // Reads one message within the deadline; false on timeout.
    bool read_message(Json& out, std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            const auto nul = buffer_.find('\0');
            if (nul != std::string::npos) {
                out = Json::parse(buffer_.substr(0, nul));
                buffer_.erase(0, nul + 1);
                return true;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{read_fd_, POLLIN, 0};
            const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return false;
            char buf[65536];
            const ssize_t n = ::read(read_fd_, buf, sizeof buf);
            if (n <= 0) throw std::runtime_error("chromium exited\n" + log_tail());
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

    void on_event(const Json& m) {
        const std::string method = m.value("method", std::string());
        if (method == "Page.loadEventFired") loaded_ = true;
        if (method == "Runtime.exceptionThrown") {
            const Json& d = m["params"]["exceptionDetails"];
            page_errors_.push_back(d.contains("exception") && d["exception"].contains("description")
                                       ? d["exception"]["description"].get<std::string>()
                                       : d.value("text", std::string("exception")));
        }
    }

    Json call(const std::string& method, const Json& params, const std::string& session = "", int timeout_ms = 30000) {
        const int id = send(method, params, session);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        Json m;
        while (read_message(m, deadline)) {
            if (m.contains("id") && m["id"] == id) {
                if (m.contains("error")) throw std::runtime_error("chromium: " + method + ": " + m["error"].dump());
                return m.value("result", Json::object());
            }
            on_event(m);
        }
        throw std::runtime_error("chromium: no reply to " + method + " within " + std::to_string(timeout_ms) + " ms\n" +
                                 log_tail());
    }

    template <typename Done>
    void await_event(Done done, int timeout_ms, const std::string& what) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        Json m;
        while (!done()) {
            if (!read_message(m, deadline)) throw std::runtime_error("chromium: timed out waiting for " + what);
            on_event(m);
        }
    }

    static std::string base64_decode(const std::string& in) {
        std::string out;
        int value = 0, bits = -8;
        for (unsigned char c : in) {
            int d;
            if (c >= 'A' && c <= 'Z')
                d = c - 'A';
            else if (c >= 'a' && c <= 'z')
                d = c - 'a' + 26;
            else if (c >= '0' && c <= '9')
                d = c - '0' + 52;
            else if (c == '+')
                d = 62;
            else if (c == '/')
                d = 63;
            else
                continue;  // padding
            value = (value << 6) + d;
            bits += 6;
            if (bits >= 0) {
                out.push_back(static_cast<char>((value >> bits) & 0xFF));
                bits -= 8;
            }
        }
        return out;
    }

    std::filesystem::path profile_;
    pid_t pid_ = -1;
    int write_fd_ = -1, read_fd_ = -1;
    int next_id_ = 0;
    std::string session_;
    std::string buffer_;
    bool loaded_ = false;
    std::vector<std::string> page_errors_;
};

}  // namespace winnow::testing
