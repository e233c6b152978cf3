// The leaderboard's present mode: Esc goes back to the app, F (or the button) toggles full screen where the
// browser allows it. Full screen needs a key press or a click (browsers refuse it on page load).
(() => {
  const exit = document.getElementById("exit-present");
  const button = document.getElementById("fullscreen");
  const canFull = !!document.documentElement.requestFullscreen;
  const toggle = () => {
    if (!canFull) return;
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  };
  if (canFull && button) {
    button.hidden = false;
    button.addEventListener("click", toggle);
  }
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape" && !document.fullscreenElement && exit) window.location.assign(exit.href);
    if (event.key === "f" || event.key === "F") toggle();
  });
})();
