/* The portal's own map layers. folium writes the map and calls these from its (nonce-marked)
   inline script, so the code itself is a cached static file and the page's inline script
   carries only data. Loaded in <head>, before the inline script runs. */
(function () {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  /* Parcels as polygons coloured by availability, carriers as clustered circles, both
     fetched for the current view; filters arrive as a "portal:filters" DOM event. */
  function sitesLayer(map, cfg) {
    var container = map.getContainer();
    var parcels = L.geoJSON(null, {
      style: function (f) {
        var c = cfg.colours[f.properties.status] || cfg.carrier;
        return {color: c, weight: 2, fillColor: c, fillOpacity: 0.35};
      },
      onEachFeature: function (f, layer) { layer.bindPopup(popup(f.properties)); }
    }).addTo(map);
    var carriers = L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40});
    carriers.addTo(map);
    var cells = L.layerGroup().addTo(map);
    var params = new URLSearchParams(cfg.params);
    var pending = null;

    function popup(p) {
      var area = p.area_mu != null ? p.area_mu + " " + cfg.labels.mu
        : (p.floor_area_m2 != null ? p.floor_area_m2 + " " + cfg.labels.m2 : "");
      return "<strong>" + esc(p.name) + "</strong><br>" + esc(cfg.kinds[p.kind] || p.kind) +
        " · " + esc(cfg.statuses[p.status] || p.status) + (area ? " · " + esc(area) : "") +
        (p.is_demo ? " · " + esc(cfg.labels.demo) : "") +
        '<br><a href="' + esc(p.url) + '">' + esc(cfg.labels.details) + "</a>";
    }

    function draw(fc) {
      parcels.clearLayers(); carriers.clearLayers(); cells.clearLayers();
      var shown = 0;
      fc.features.forEach(function (f) {
        var p = f.properties;
        if (p.cluster) {
          var ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
          var bubble = L.marker(ll, {icon: L.divIcon({className: "site-cell",
            html: "<span>" + esc(p.count) + "</span>", iconSize: [36, 36]}),
            title: cfg.labels.cluster.replace("%(n)s", p.count)});
          bubble.on("click", function () { map.setView(ll, map.getZoom() + 2); });
          cells.addLayer(bubble);
          shown += p.count;
        } else if (f.geometry.type === "Point") {
          var ll2 = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
          carriers.addLayer(L.circleMarker(ll2, {radius: 7, color: "#fff", weight: 2,
            fillColor: cfg.colours[p.status] || cfg.carrier, fillOpacity: 0.9})
            .bindPopup(popup(p)));
          shown += 1;
        } else if (map.getZoom() < cfg.polygonZoom) {
          // too small to see as outlines: a marker at the parcel's centre
          var centre = L.geoJSON(f).getBounds().getCenter();
          parcels.addLayer(L.circleMarker(centre, {radius: 6, color: "#fff", weight: 2,
            fillColor: cfg.colours[p.status] || cfg.carrier, fillOpacity: 0.9,
            className: "parcel-dot"}).bindPopup(popup(p)));
          shown += 1;
        } else {
          parcels.addData(f);
          shown += 1;
        }
      });
      container.setAttribute("data-features", String(shown));
      container.dispatchEvent(new CustomEvent("portal:map-drawn", {bubbles: true,
        detail: {count: shown}}));
    }

    function load() {
      var b = map.getBounds();
      var q = new URLSearchParams(params);
      q.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map(function (v) { return Math.max(-180, Math.min(180, v)).toFixed(5); }).join(","));
      q.set("cluster", "1");
      if (cfg.gcj02) { q.set("crs", "gcj02"); }
      if (pending) { pending.abort(); }
      pending = new AbortController();
      container.setAttribute("aria-busy", "true");
      fetch(cfg.api + "?" + q.toString(), {signal: pending.signal,
        headers: {"Accept": "application/geo+json"}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(draw)
        .catch(function (e) {
          if (e.name !== "AbortError") { container.setAttribute("data-error", "1"); }
        })
        .finally(function () { container.removeAttribute("aria-busy"); });
    }

    map.on("moveend", load);
    map.on("zoomend", function () { container.setAttribute("data-zoom", map.getZoom()); });
    document.addEventListener("portal:filters", function (e) {
      params = new URLSearchParams(e.detail); load();
    });
    if (cfg.bounds) {
      map.fitBounds(cfg.bounds, {animate: false});  // fires moveend, which loads
    } else {
      load();
    }
  }

  /* One site drawn from data in the page (the detail page's inset). */
  function inlineSite(map, feature, colour) {
    var layer = L.geoJSON(feature, {
      style: function () { return {color: colour, weight: 3, fillOpacity: 0.3}; },
      pointToLayer: function (f, ll) {
        return L.circleMarker(ll, {radius: 9, color: "#fff", weight: 2,
          fillColor: colour, fillOpacity: 0.95});
      }
    }).addTo(map);
    if (layer.getBounds().isValid()) {
      map.fitBounds(layer.getBounds(), {maxZoom: 15, padding: [20, 20]});
    }
  }

  window.portalMaps = {sitesLayer: sitesLayer, inlineSite: inlineSite};
})();
