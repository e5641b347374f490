// What the files of the extension module winnow._winnow share. module.cpp defines the module and
// the error mapping; bind_models.cpp binds Reranker and Embedder; bind_query.cpp binds Index,
// Pipeline and the evaluation measures (the one file to adapt when those public types change).
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstddef>
#include <utility>

namespace winnow::python {

namespace py = pybind11;

void bind_models(py::module_& m);
void bind_query(py::module_& m);

// Runs `work` without the GIL (model and index work), in pieces of `chunk` items out of `n`:
// work(begin, end) per piece; between pieces the GIL is taken back to honour Ctrl-C
// (KeyboardInterrupt is raised as soon as a piece finishes).
template <typename Work>
void run_released_in_chunks(std::size_t n, std::size_t chunk, Work&& work) {
    if (chunk == 0) chunk = n;
    std::size_t begin = 0;
    do {
        const std::size_t end = std::min(n, begin + chunk);
        {
            py::gil_scoped_release release;
            work(begin, end);
        }
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        begin = end;
    } while (begin < n);
}

}  // namespace winnow::python
