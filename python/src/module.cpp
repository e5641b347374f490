// winnow._winnow: the extension module behind `import winnow`. This file defines the module, maps
// winnow::Error to Python exceptions that carry the error code, and registers the plug-ins the CLI
// registers at start-up (the "ltr" rerank stage, the "structured" chunker, HTML/PDF readers).
#include <array>
#include <string>

#include "bindings.h"
#include "core/log.h"
#include "ingest/file_ingest.h"
#include "winnow/error.h"
#include "winnow/ltr.h"
#include "winnow/version.h"

namespace winnow::python {
namespace {

constexpr std::array kCodes = {
    Errc::InvalidArgument, Errc::NotFound, Errc::Unsupported, Errc::Corrupt,      Errc::Io,      Errc::TooLarge,
    Errc::Overloaded,      Errc::Timeout,  Errc::Cancelled,   Errc::Unauthorized, Errc::Internal};

// One exception class per code, each a subclass of winnow.Error and of the built-in exception a
// Python caller would expect for it (so `except ValueError` catches a bad argument).
struct ErrorClass {
    const char* name;
    PyObject* builtin;
};

ErrorClass error_class_for(Errc code) {
    switch (code) {
    case Errc::InvalidArgument:
        return {"InvalidArgumentError", PyExc_ValueError};
    case Errc::NotFound:
        return {"NotFoundError", PyExc_FileNotFoundError};
    case Errc::Unsupported:
        return {"UnsupportedError", PyExc_NotImplementedError};
    case Errc::Corrupt:
        return {"CorruptError", PyExc_ValueError};
    case Errc::Io:
        return {"IoError", PyExc_OSError};
    case Errc::TooLarge:
        return {"TooLargeError", PyExc_ValueError};
    case Errc::Overloaded:
        return {"OverloadedError", nullptr};
    case Errc::Timeout:
        return {"TimeoutError", PyExc_TimeoutError};
    case Errc::Cancelled:
        return {"CancelledError", nullptr};
    case Errc::Unauthorized:
        return {"UnauthorizedError", PyExc_PermissionError};
    case Errc::Internal:
        return {"InternalError", PyExc_RuntimeError};
    }
    return {"InternalError", PyExc_RuntimeError};
}

// Owned for the life of the process (the module is never unloaded), so never decref'ed.
PyObject* g_error_base = nullptr;
std::array<PyObject*, kCodes.size()> g_error_classes{};

void add_error_classes(py::module_& m) {
    g_error_base = PyErr_NewExceptionWithDoc(
        "winnow.Error",
        "Every error winnow raises. `code` is winnow's error code ('invalid_argument', 'not_found', "
        "'unsupported', 'corrupt', 'io_error', 'too_large', 'overloaded', 'timeout', 'cancelled', "
        "'unauthorized', 'internal'); `exit_code` is the CLI's exit status for it.",
        PyExc_Exception, nullptr);
    if (g_error_base == nullptr) throw py::error_already_set();
    py::handle(g_error_base).attr("code") = py::none();
    py::handle(g_error_base).attr("exit_code") = py::none();
    m.add_object("Error", py::handle(g_error_base));
    for (std::size_t i = 0; i < kCodes.size(); ++i) {
        const ErrorClass c = error_class_for(kCodes[i]);
        py::tuple bases = c.builtin ? py::make_tuple(py::handle(g_error_base), py::handle(c.builtin))
                                    : py::make_tuple(py::handle(g_error_base));
        const std::string qualified = std::string("winnow.") + c.name;
        g_error_classes[i] = PyErr_NewException(qualified.c_str(), bases.ptr(), nullptr);
        if (g_error_classes[i] == nullptr) throw py::error_already_set();
        // As class attributes too, so errors raised by the Python layer carry them.
        py::handle cls(g_error_classes[i]);
        cls.attr("code") = py::str(std::string(errc_name(kCodes[i])));
        cls.attr("exit_code") = py::int_(exit_code(kCodes[i]));
        m.add_object(c.name, py::handle(g_error_classes[i]));
    }
}

void raise_error(const Error& e) {
    std::size_t i = 0;
    while (i < kCodes.size() && kCodes[i] != e.code()) ++i;
    PyObject* cls = i < kCodes.size() ? g_error_classes[i] : g_error_base;
    py::object instance = py::reinterpret_steal<py::object>(PyObject_CallFunction(cls, "s", e.what()));
    if (!instance) return;  // the call set its own exception
    instance.attr("code") = py::str(std::string(errc_name(e.code())));
    instance.attr("exit_code") = py::int_(exit_code(e.code()));
    PyErr_SetObject(cls, instance.ptr());
}

}  // namespace
}  // namespace winnow::python

PYBIND11_MODULE(_winnow, m) {
    namespace py = pybind11;
    using namespace winnow::python;
    m.doc() = "winnow's C++ engine (use the `winnow` package, which wraps this module)";

    add_error_classes(m);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const winnow::Error& e) {
            raise_error(e);
        }
    });

    // What the CLI registers at start-up: learning-to-rank stages, the structured chunker and the
    // HTML/PDF file readers.
    winnow::ltr::register_stages();
    winnow::ingest::register_ingest_plugins();

    m.def(
        "version", [] { return std::string(winnow::version()); }, "The library version.");
    m.def(
        "set_log_level", [](const std::string& level) { winnow::log::set_level(winnow::log::parse_level(level)); },
        py::arg("level"), "Log level of the engine's messages on stderr: debug|info|warn|error|off.");
    m.def("error_code_names", [] {
        py::dict out;
        for (std::size_t i = 0; i < kCodes.size(); ++i) {
            out[py::str(std::string(winnow::errc_name(kCodes[i])))] = py::handle(g_error_classes[i]);
        }
        return out;
    });

    bind_models(m);
    bind_query(m);
}
