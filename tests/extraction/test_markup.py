"""crawler.extraction.markup: lightbox and zoom attributes, <noscript>, full size over thumbnail.

The markup is what the libraries' documentation and WordPress plugins write.
"""

from __future__ import annotations

from tests.extraction.support import paths, read


def test_photoswipe_5_anchors_name_the_full_size_by_href_or_data_pswp_src():
    found = read(
        '<div class="pswp-gallery" id="gallery">'
        '<a href="https://cdn.example/full/1.jpg" data-pswp-width="2500" data-pswp-height="1666"'
        ' target="_blank"><img src="https://cdn.example/thumb/1.jpg" alt=""></a>'
        '<a href="/photo/2" data-pswp-src="/full/2.jpg" data-pswp-width="1875"'
        ' data-pswp-height="2500"><img src="/thumb/2.jpg" alt=""></a>'
        # No extension: PhotoSwipe shows the href all the same, so it is the picture.
        '<a href="/download/3" data-pswp-width="1600" data-pswp-height="1200">'
        '<img src="/thumb/3.jpg" alt=""></a></div>'
    )
    assert paths(found.urls) == ["https://cdn.example/full/1.jpg", "/download/3", "/full/2.jpg"]
    assert set(paths(found.thumbnails)) == {
        "https://cdn.example/thumb/1.jpg",
        "/thumb/2.jpg",
        "/thumb/3.jpg",
    }
    assert found.unknown_links == []  # /photo/2 needs no question: PhotoSwipe said it
    assert found.full_size_named == 3


def test_jetpack_carousel_and_lightbox_plugins_name_the_original_upload():
    uploads = "/wp-content/uploads/2026"
    found = read(
        '<div class="tiled-gallery">'
        # Linked to its attachment page: the image's own attributes name the original.
        '<a href="/2026/11/post/photo/"><img data-attachment-id="12"'
        f' data-orig-file="{uploads}/11/photo.jpg" data-orig-size="2048,1365"'
        ' data-image-meta="{&quot;aperture&quot;:&quot;0&quot;,&quot;camera&quot;:&quot;&quot;}"'
        f' data-medium-file="{uploads}/11/photo-300x200.jpg"'
        f' data-large-file="{uploads}/11/photo-1024x683.jpg"'
        f' src="{uploads}/11/photo-300x200.jpg" srcset="{uploads}/11/photo-300x200.jpg 300w,'
        f' {uploads}/11/photo-1024x683.jpg 1024w"></a>'
        # Responsive Lightbox: linked to the (scaled) full size, which the image names too.
        f'<a href="{uploads}/10/cafe-scaled.jpg" data-rel="lightbox-gallery-1">'
        f'<img src="{uploads}/10/cafe-300x200.jpg" data-orig-file="{uploads}/10/cafe-scaled.jpg"'
        f' data-large-file="{uploads}/10/cafe-1024x683.jpg"></a></div>'
    )
    assert paths(found.urls) == [f"{uploads}/10/cafe-scaled.jpg", f"{uploads}/11/photo.jpg"]
    assert set(paths(found.thumbnails)) == {
        f"{uploads}/11/photo-300x200.jpg",
        f"{uploads}/11/photo-1024x683.jpg",
        f"{uploads}/10/cafe-300x200.jpg",
        f"{uploads}/10/cafe-1024x683.jpg",
    }
    assert found.unknown_links == []  # the attachment page needs no question either
    assert found.sources == {"markup": 1, "data_attribute": 1}


def test_light_gallery_fancybox_zoomers_and_slider_thumbnails():
    found = read(
        '<div id="lightgallery">'
        '<a data-lg-size="1600-2400" class="gallery-item" data-src="/img/full/1.jpg"'
        " data-sub-html=\"<h4>Photo by <a href='/u/x'>x</a></h4><img src='/img/by.png'>\">"
        '<img class="img-responsive" src="/img/thumb/1.jpg"></a>'
        '<div data-src="/img/full/2.jpg"><img src="/img/thumb/2.jpg"></div>'
        '<a data-fancybox="gallery" href="/img/big/3.jpg"><img src="/img/small/3.jpg"></a>'
        '<img src="/p/4-small.jpg" data-zoom-image="/p/4-large.jpg">'  # elevateZoom
        '<img src="/p/5.jpg" data-hires="/p/5@2x.jpg">'
        # Flexslider: the slide names its thumbnail for the navigation.
        '<ul class="slides"><li data-thumb="/p/6-thumb.jpg"><img src="/p/6.jpg"></li></ul>'
        "</div>"
    )
    assert paths(found.urls) == [
        "/p/6.jpg",
        "/img/big/3.jpg",
        "/img/full/1.jpg",
        "/img/by.png",
        "/img/full/2.jpg",
        "/p/4-large.jpg",
        "/p/5@2x.jpg",
    ]
    assert set(paths(found.thumbnails)) == {
        "/img/thumb/1.jpg",
        "/img/thumb/2.jpg",
        "/img/small/3.jpg",
        "/p/4-small.jpg",
        "/p/5.jpg",
        "/p/6-thumb.jpg",
    }
    assert found.sources == {"markup": 2, "data_attribute": 4, "html_in_string": 1}


def test_a_container_naming_a_picture_around_several_images_is_no_larger_copy_of_them():
    found = read(
        '<ul data-src="/img/bg.jpg"><li><img src="/a.jpg"></li><li><img src="/b.jpg"></li></ul>'
    )
    assert paths(found.urls) == ["/a.jpg", "/b.jpg", "/img/bg.jpg"]
    assert found.thumbnails == set()


def test_lazy_video_sources_and_backgrounds_in_data_attributes():
    found = read(
        '<video data-src="/v/clip.mp4" data-poster="/v/clip.jpg"></video>'
        '<div class="lazy" data-bg="/bg/hero.webp"></div>'
        '<div data-background-srcset="/bg/s.jpg 480w, /bg/l.jpg 1920w"></div>'
        '<div data-id="12" data-title="not a URL" data-href="/post/12"></div>'
    )
    assert paths(found.urls) == ["/v/clip.mp4", "/v/clip.jpg", "/bg/hero.webp", "/bg/l.jpg"]
    assert paths(found.thumbnails) == ["/bg/s.jpg"]


def test_json_in_a_data_attribute_woocommerce_variations():
    variations = (
        '[{"variation_id":41,"image":{"title":"red","url":"/wp-content/uploads/red.jpg",'
        '"src":"/wp-content/uploads/red-600x600.jpg","full_src":"/wp-content/uploads/red.jpg",'
        '"gallery_thumbnail_src":"/wp-content/uploads/red-100x100.jpg",'
        '"thumb_src":"/wp-content/uploads/red-300x300.jpg"}}]'
    ).replace('"', "&quot;")
    found = read(f'<form class="variations_form" data-product_variations="{variations}"></form>')
    assert paths(found.urls) == ["/wp-content/uploads/red.jpg"]
    assert found.sources == {"data_attribute": 1}
    assert len(found.thumbnails) == 3


def test_noscript_fallbacks_count_as_their_own_source_when_nothing_else_shows_them():
    found = read(
        '<img src="data:image/gif;base64,R0lGOD" data-lazy-src="/p/1.jpg">'
        '<noscript><img src="/p/1.jpg"></noscript>'  # the same picture: markup found it
        '<noscript><img src="/p/2.jpg" srcset="/p/2.jpg 1x, /p/2@2x.jpg 2x"></noscript>'
    )
    assert paths(found.urls) == ["/p/1.jpg", "/p/2@2x.jpg"]
    assert found.sources == {"markup": 1, "noscript": 1}
