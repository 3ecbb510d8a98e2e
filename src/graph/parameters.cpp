#include "znn/graph/parameters.hpp"

#include <cstring>

#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/graph/init.hpp"

namespace znn::graph {
namespace {

/// Replaces every repeat-sized block of each kernel by its mean.
template <class T> void tie(Parameter<T>& p)
{
    const core::Vec3i K = p.values.size(), r = p.repeat;
    for (std::int64_t c = 0; c < p.values.channels(); ++c)
        for (std::int64_t bz = 0; bz < K.z; bz += r.z)
            for (std::int64_t by = 0; by < K.y; by += r.y)
                for (std::int64_t bx = 0; bx < K.x; bx += r.x) {
                    const auto block = p.values.box({{bz, by, bx}, r}).channel(c);
                    T sum = 0;
                    block.for_each([&](T& v) { sum += v; });
                    const T mean = sum / static_cast<T>(r.product());
                    block.for_each([&](T& v) { v = mean; });
                }
}

}  // namespace

template <class T>
std::shared_ptr<ParameterStore<T>> ParameterStore<T>::create(const config::NetSpec& spec, const NetShapes& shapes)
{
    auto store = std::make_shared<ParameterStore<T>>();
    for (const NodeShape& ns : shapes.nodes()) {
        if (ns.type != config::NodeType::Transfer) continue;
        const config::NodeGroupSpec& n = *spec.node(ns.name);
        Parameter<T> p;
        p.group = ns.name;
        p.values = tensor::Tensor<T>(1, {1, 1, ns.maps});
        p.gradient = tensor::Tensor<T>(1, {1, 1, ns.maps});
        p.learning = n.learning;
        p.init = n.bias_init;
        p.seeding = n.seeding;
        store->params_.push_back(std::move(p));
    }
    for (std::size_t i = 0; i < spec.edges.size(); ++i) {
        const config::EdgeGroupSpec& e = spec.edges[i];
        if (e.type != config::EdgeType::Conv) continue;
        const EdgeShape& es = shapes.edges()[i];
        Parameter<T> p;
        p.group = e.name;
        p.is_kernel = true;
        p.values = tensor::Tensor<T>(es.out_maps * es.in_maps, es.window);
        p.gradient = tensor::Tensor<T>(es.out_maps * es.in_maps, es.window);
        p.learning = e.learning;
        p.repeat = e.repeat;
        p.init = e.init;
        p.fan_in = double(es.in_maps * es.window.product());
        p.fan_out = double(es.out_maps * es.window.product());
        p.seeding = e.seeding;
        store->params_.push_back(std::move(p));
    }
    return store;
}

template <class T> Parameter<T>* ParameterStore<T>::find(const std::string& group)
{
    for (Parameter<T>& p : params_)
        if (p.group == group) return &p;
    return nullptr;
}

template <class T> const Parameter<T>* ParameterStore<T>::find(const std::string& group) const
{
    return const_cast<ParameterStore*>(this)->find(group);
}

template <class T> std::ptrdiff_t ParameterStore<T>::index(const std::string& group) const
{
    for (std::size_t i = 0; i < params_.size(); ++i)
        if (params_[i].group == group) return static_cast<std::ptrdiff_t>(i);
    return -1;
}

template <class T> void ParameterStore<T>::initialize(std::uint64_t seed)
{
    for (Parameter<T>& p : params_) {
        if (p.init) initialize_values<T>(p.values.span(), *p.init, p.fan_in, p.fan_out, seed, p.group);
        else tensor::fill(p.values.view(), T(0));
        changed(p);
    }
}

template <class T> void ParameterStore<T>::changed(Parameter<T>& p)
{
    if (p.is_kernel && p.repeat != core::Vec3i{1, 1, 1}) tie(p);
    ++p.version;
}

template <class T> std::int64_t ParameterStore<T>::count() const
{
    std::int64_t n = 0;
    for (const Parameter<T>& p : params_) n += p.values.count();
    return n;
}

template <class T> std::uint64_t ParameterStore<T>::fingerprint() const
{
    std::uint64_t h = core::mix64(params_.size());
    for (const Parameter<T>& p : params_) {
        h = core::mix64(h ^ name_hash(p.group));
        const T* v = p.values.data();
        for (std::int64_t i = 0; i < p.values.count(); ++i) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, v + i, sizeof(T));
            h = core::mix64(h ^ bits) + static_cast<std::uint64_t>(i);
        }
    }
    return h;
}

template <class T> bool ParameterStore<T>::same_layout(const ParameterStore& other) const
{
    if (params_.size() != other.params_.size()) return false;
    for (std::size_t i = 0; i < params_.size(); ++i)
        if (params_[i].group != other.params_[i].group || params_[i].values.shape() != other.params_[i].values.shape()) return false;
    return true;
}

template class ParameterStore<float>;
template class ParameterStore<double>;

}  // namespace znn::graph
