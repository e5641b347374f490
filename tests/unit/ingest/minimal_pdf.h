// Writes a small valid PDF (PDF 1.4, Helvetica, one text object per page) for tests: the ingest
// tests and the pipeline tests make their PDFs at test time with it.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace winnow::test {

// pages[p] is a list of lines; an empty line leaves a blank line (a paragraph break).
inline std::string make_pdf(const std::vector<std::vector<std::string>>& pages, const std::string& title = "") {
    std::vector<std::string> objects;  // object i+1
    const std::size_t n_pages = pages.size();
    // 1 catalog, 2 pages, 3 font, 4 info, then per page: page object, content stream.
    objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
    std::string kids;
    for (std::size_t p = 0; p < n_pages; ++p) kids += std::to_string(5 + 2 * p) + " 0 R ";
    objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n_pages) + " >>");
    objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    auto escape = [](const std::string& s) {
        std::string out;
        for (char c : s) {
            if (c == '(' || c == ')' || c == '\\') out += '\\';
            out += c;
        }
        return out;
    };
    objects.push_back("<< /Title (" + escape(title) + ") /Producer (winnow tests) >>");
    for (std::size_t p = 0; p < n_pages; ++p) {
        std::string content = "BT /F1 11 Tf 14 TL 72 750 Td\n";
        for (const auto& line : pages[p]) {
            if (!line.empty()) content += "(" + escape(line) + ") Tj\n";
            content += "T*\n";
        }
        content += "ET\n";
        objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                          "/Contents " + std::to_string(6 + 2 * p) + " 0 R >>");
        objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream");
    }
    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const std::size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (std::size_t off : offsets) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%010zu 00000 n \n", off);
        pdf += buf;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

}  // namespace winnow::test
