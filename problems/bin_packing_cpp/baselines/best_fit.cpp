// Best fit: the bin the item fills most tightly.
//
// The scorer (evaluate.py) keeps the packing; this program answers one line per question
// on stdin/stdout:
//   "new K C N"  instance K starts with N empty bins of capacity C   -> "ok"
//   "item K S"   where does item S of instance K go?                 -> the chosen bin's index
// The bin index is checked by the scorer (it must have room); the bins are counted there.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

// EVOLVE-BLOCK-START
std::vector<double> priority(double item, const std::vector<double>& bins) {
    std::vector<double> scores(bins.size());
    for (size_t i = 0; i < bins.size(); ++i) scores[i] = -(bins[i] - item);
    return scores;
}
// EVOLVE-BLOCK-END

static std::string choose(std::vector<double>& remaining, double item) {
    std::vector<double> feasible;
    std::vector<size_t> where;
    for (size_t i = 0; i < remaining.size(); ++i) {
        if (remaining[i] >= item) {
            feasible.push_back(remaining[i]);
            where.push_back(i);
        }
    }
    if (feasible.empty()) return "error no bin can take the item";
    std::vector<double> scores = priority(item, feasible);
    if (scores.size() != feasible.size())
        return "error priority returned " + std::to_string(scores.size()) + " scores for " +
               std::to_string(feasible.size()) + " feasible bins";
    size_t best = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
        if (!std::isfinite(scores[i])) return "error priority returned a non-finite score";
        if (scores[i] > scores[best]) best = i;
    }
    remaining[where[best]] -= item;
    return std::to_string(where[best]);
}

int main() {
    std::ios::sync_with_stdio(false);
    std::unordered_map<long, std::vector<double>> bins;
    std::string line, op;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        long k;
        in >> op >> k;
        if (op == "new") {
            double capacity;
            size_t n;
            in >> capacity >> n;
            bins[k].assign(n, capacity);
            std::cout << "ok\n";
        } else if (op == "item") {
            double item;
            in >> item;
            std::cout << choose(bins[k], item) << "\n";
        } else {
            std::cout << "error unknown request\n";
        }
        if (std::cin.rdbuf()->in_avail() == 0) std::cout.flush();
    }
    return 0;
}
