// apply_to_tensors: maps a function over every tensor in a value, keeping its shape and type
// (Lightning's apply_to_collection for tensors). Supported: at::Tensor, torch::data::Example,
// std::vector, std::array, std::map, std::unordered_map, std::pair, std::tuple, std::optional,
// c10::IValue (lists, dicts, tuples); anything else passes through unchanged.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>
#include <torch/data/example.h>

#include <array>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fabric {

template <class T, class F>
T apply_to_tensors(const T& value, F&& fn);

namespace detail {

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_std_array : std::false_type {};
template <class T, size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};
template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_example : std::false_type {};
template <class D, class L>
struct is_example<torch::data::Example<D, L>> : std::true_type {};

template <class F>
c10::IValue apply_to_ivalue(const c10::IValue& v, F& fn) {
  if (v.isTensor()) return fn(v.toTensor());
  if (v.isTensorList()) {
    c10::List<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList()) out.push_back(fn(t));
    return out;
  }
  if (v.isList()) {
    auto in = v.toList();
    c10::impl::GenericList out(in.elementType());
    for (const c10::IValue& e : in) out.push_back(apply_to_ivalue(e, fn));
    return out;
  }
  if (v.isGenericDict()) {
    auto in = v.toGenericDict();
    c10::impl::GenericDict out(in.keyType(), in.valueType());
    for (const auto& item : in) out.insert(item.key(), apply_to_ivalue(item.value(), fn));
    return out;
  }
  if (v.isTuple()) {
    std::vector<c10::IValue> items;
    for (const auto& e : v.toTupleRef().elements()) items.push_back(apply_to_ivalue(e, fn));
    return c10::ivalue::Tuple::create(std::move(items));
  }
  return v;
}

}  // namespace detail

template <class T, class F>
T apply_to_tensors(const T& value, F&& fn) {
  if constexpr (std::is_same_v<T, at::Tensor>) {
    return value.defined() ? fn(value) : value;
  } else if constexpr (detail::is_example<T>::value) {
    return T(apply_to_tensors(value.data, fn), apply_to_tensors(value.target, fn));
  } else if constexpr (detail::is_vector<T>::value || detail::is_std_array<T>::value) {
    T out = value;
    for (auto& e : out) e = apply_to_tensors(e, fn);
    return out;
  } else if constexpr (detail::is_map<T>::value) {
    T out;
    for (const auto& [k, v] : value) out.emplace(k, apply_to_tensors(v, fn));
    return out;
  } else if constexpr (detail::is_pair<T>::value) {
    return T(apply_to_tensors(value.first, fn), apply_to_tensors(value.second, fn));
  } else if constexpr (detail::is_tuple<T>::value) {
    return std::apply([&](const auto&... e) { return T(apply_to_tensors(e, fn)...); }, value);
  } else if constexpr (detail::is_optional<T>::value) {
    return value ? T(apply_to_tensors(*value, fn)) : value;
  } else if constexpr (std::is_same_v<T, c10::IValue>) {
    return detail::apply_to_ivalue(value, fn);
  } else {
    return value;
  }
}

/// Moves every tensor in `value` to `device` (non-blocking for CUDA targets).
template <class T>
T move_data_to_device(const T& value, const c10::Device& device) {
  return apply_to_tensors(value, [&](const at::Tensor& t) {
    return t.device() == device ? t : t.to(device, /*non_blocking=*/device.is_cuda());
  });
}

}  // namespace fabric
