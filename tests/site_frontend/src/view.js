export function render(results) {
  document.getElementById("route").textContent = results.route;
  document.getElementById("log").textContent = JSON.stringify(results, null, 2);
}
